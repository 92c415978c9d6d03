"""Targets: the platform and Python a wheel must run on, as data."""

from xbuild.target.arch import Arch
from xbuild.target.catalog import Catalog, NamedTarget, load_catalog
from xbuild.target.model import OS, Libc, Target
from xbuild.target.parse import parse_python_version, parse_target

__all__ = [
    "OS",
    "Arch",
    "Catalog",
    "Libc",
    "NamedTarget",
    "Target",
    "load_catalog",
    "parse_python_version",
    "parse_target",
]
