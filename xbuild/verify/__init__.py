"""`xbuild verify`: check wheels and installed trees (Lambda zips, `pip install --target`
directories) against a target in one streaming pass, findings as data."""

from xbuild.verify.model import Check, Finding, Kind, Limits, Severity, WheelReport
from xbuild.verify.runner import collect, collect_wheels, verify_installed, verify_paths, verify_wheel

__all__ = [
    "Check",
    "Finding",
    "Kind",
    "Limits",
    "Severity",
    "WheelReport",
    "collect",
    "collect_wheels",
    "verify_installed",
    "verify_paths",
    "verify_wheel",
]
