"""manylinux and musllinux policies, read from the JSON that auditwheel ships (rules as data).

Nothing here copies a number from those files: symbol versions and library allow-lists are
loaded from `auditwheel/policy/*.json` at first use. `xbuild verify` and the repair step of
`xbuild build` both look policies up here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from xbuild.errors import EngineError
from xbuild.target import Arch, Libc, Target
from xbuild.target.tags import parse_platform_tag

_FILES = {Libc.GLIBC: "manylinux-policy.json", Libc.MUSL: "musllinux-policy.json"}
_NAME = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)$")
# The ELF program interpreter is always there; auditwheel exempts it the same way.
_LOADER = re.compile(r"^(ld-linux[\w.-]*\.so(\.\d+)*|ld64\.so\.[12]|ld\.so\.1|ld-musl-[\w]+\.so\.1)$")


@dataclass(frozen=True, kw_only=True)
class Policy:
    """One platform policy for one architecture, e.g. manylinux_2_17 on aarch64."""

    name: str  # "manylinux_2_17"
    aliases: tuple[str, ...]  # ("manylinux2014",)
    libc: Libc
    version: tuple[int, int]  # (2, 17)
    arch: str  # wheel-tag spelling: "x86_64", "aarch64", "i686", ...
    priority: int
    # Every allowed "PREFIX_version" (e.g. "GLIBC_2.17"); a requirement whose prefix is not in
    # `symbol_prefixes` is not governed by the policy.
    symbol_versions: frozenset[str]
    symbol_prefixes: frozenset[str]
    lib_whitelist: frozenset[str]
    blacklist: tuple[tuple[str, frozenset[str]], ...]  # (soname, symbols that must not be used)

    @property
    def tag(self) -> str:
        return f"{self.name}_{self.arch}"

    def allows_version(self, requirement: str) -> bool:
        """Whether a versioned-symbol requirement such as `GLIBCXX_3.4.21` fits this policy."""
        prefix = requirement.partition("_")[0]
        return prefix not in self.symbol_prefixes or requirement in self.symbol_versions

    def allows_library(self, soname: str) -> bool:
        return soname in self.lib_whitelist or is_loader(soname)

    def blacklisted_symbols(self, soname: str) -> frozenset[str]:
        return next((symbols for lib, symbols in self.blacklist if lib == soname), frozenset())


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...]

    def lookup(self, libc: Libc, version: tuple[int, int], arch: str) -> Policy | None:
        """The policy with exactly this version, or None."""
        return next(
            (p for p in self.policies if p.libc is libc and p.version == version and p.arch == arch), None
        )

    def nearest(self, libc: Libc, version: tuple[int, int], arch: str) -> Policy | None:
        """The newest policy not newer than `version`: exact when auditwheel knows the version,
        conservative (older) otherwise, None below the oldest policy for that arch."""
        fitting = [p for p in self.policies if p.libc is libc and p.arch == arch and p.version <= version]
        return max(fitting, key=lambda p: p.version, default=None)

    def for_tag(self, platform_tag: str) -> Policy | None:
        """The policy a platform tag claims (`manylinux2014_x86_64` -> manylinux_2_17), if any."""
        tag = parse_platform_tag(platform_tag)
        if tag.family.libc is None or len(tag.version) != 2:
            return None
        return self.lookup(tag.family.libc, (tag.version[0], tag.version[1]), tag.arch)

    def for_target(self, target: Target) -> Policy | None:
        """The policy a Linux target must satisfy, None for other OSes and plain `linux_*`."""
        if target.libc not in _FILES or target.libc_version is None:
            return None
        return self.nearest(target.libc, target.libc_version, str(target.arch))


def is_loader(soname: str) -> bool:
    """The ELF program interpreter (ld-linux-x86-64.so.2, ld64.so.2, ld-musl-x86_64.so.1)."""
    return _LOADER.match(soname) is not None


@cache
def load_policies() -> PolicySet:
    """Every manylinux and musllinux policy for every architecture auditwheel knows."""
    policies: list[Policy] = []
    for libc, filename in _FILES.items():
        for raw in _read(filename):
            policies.extend(_expand(libc, raw))
    return PolicySet(tuple(sorted(policies, key=lambda p: (p.libc, p.arch, p.version))))


def _read(filename: str) -> list[dict[str, Any]]:
    try:
        # Through the `auditwheel` package (an empty __init__), not `auditwheel.policy`, whose
        # __init__ imports auditwheel's ELF tooling: ~80 ms of start-up verify does not need.
        text = resources.files("auditwheel").joinpath("policy", filename).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ModuleNotFoundError, ValueError) as exc:
        raise EngineError(
            f"cannot read auditwheel's {filename}: {exc}",
            hint="reinstall xbuild's dependencies (auditwheel >= 6.1)",
        ) from exc
    if not isinstance(data, list):
        raise EngineError(f"auditwheel's {filename} is not a list of policies")
    return data


def _expand(libc: Libc, raw: dict[str, Any]) -> list[Policy]:
    """One JSON policy entry becomes one Policy per architecture it lists."""
    match = _NAME.match(str(raw.get("name", "")))
    if match is None:  # the generic "linux" entry: no rules, nothing to check against
        return []
    version = (int(match.group(2)), int(match.group(3)))
    blacklist = tuple((lib, frozenset(syms)) for lib, syms in sorted(raw["blacklist"].items()))
    return [
        Policy(
            name=raw["name"],
            aliases=tuple(raw["aliases"]),
            libc=libc,
            version=version,
            arch=arch,
            priority=int(raw["priority"]),
            symbol_versions=frozenset(f"{prefix}_{v}" for prefix, vs in per_prefix.items() for v in vs),
            symbol_prefixes=frozenset(per_prefix),
            lib_whitelist=_whitelist(libc, arch, raw["lib_whitelist"]),
            blacklist=blacklist,
        )
        for arch, per_prefix in sorted(raw["symbol_versions"].items())
    ]


def _whitelist(libc: Libc, arch: str, names: list[str]) -> frozenset[str]:
    if libc is not Libc.MUSL:
        return frozenset(names)
    # auditwheel allows "libc.so", which zig and musl-gcc binaries name; Alpine's name
    # libc.musl-<arch>.so.1, spelled Alpine's way (x86, armv7).
    known = Arch.from_alias(arch)
    musl_libc = f"libc.musl-{(known.names.alpine if known else None) or arch}.so.1"
    return frozenset([*names, *([musl_libc] if "libc.so" in names else [])])
