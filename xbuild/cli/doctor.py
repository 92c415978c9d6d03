"""`xbuild doctor [--format json]`: what this machine can run and build; a report, so it exits 0."""

from __future__ import annotations

from typing import Any

import typer

from xbuild.cli import console
from xbuild.cli.formats import Format, FormatOption, JsonAlias, wants_json
from xbuild.host.binfmt import entry_arches
from xbuild.host.facts import HostFacts, gather
from xbuild.target import OS, Libc

SETUP_HINT = "see scripts/setup-engine.sh"
_QUIET_SKIPS = ("same interpreter as ", "version-manager shim")


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def _doctor(fmt: Format = FormatOption, json_alias: bool = JsonAlias) -> None:
        """What this machine can run and build: OS, libc, emulators, container engine, Pythons."""
        facts = gather()
        if wants_json(fmt, json_alias):
            console.print_json(facts.to_json())
        else:
            for line in render(facts):
                console.out.print(line)


def render(facts: HostFacts) -> list[str]:
    """The text report, as lines; the last block is the "can build for" summary."""
    return [*_host(facts), *_binfmt(facts), *_engine(facts), *_pythons(facts), "", *_summary(facts)]


def _host(facts: HostFacts) -> list[str]:
    s = facts.system
    libc = "" if s.libc is Libc.NONE else f", {s.libc} {_dot(s.libc_version)}"
    lines = [f"host         {s.os} {s.arch}{libc} (kernel machine {s.kernel_machine})"]
    lines += [f"             {item}" for item in s.evidence]
    lines.append(f"native       {', '.join(str(a) for a in facts.native_arches)}")
    return lines


def _binfmt(facts: HostFacts) -> list[str]:
    b = facts.binfmt
    if facts.system.os is OS.MACOS:
        return [f"rosetta      {'installed' if facts.rosetta else 'not installed'}"]
    if not b.mounted:
        return [f"binfmt_misc  not mounted at {b.directory}: no foreign-arch emulation"]
    state = "enabled" if b.enabled else "disabled (echo 1 > status to enable)"
    count = console.plural(len(b.entries), "entry", "entries")
    lines = [f"binfmt_misc  {state}, {count} in {b.directory}"]
    for entry in b.entries:
        arches = ", ".join(str(a) for a in entry_arches(entry)) or "no Linux arch xbuild knows"
        on = "" if entry.enabled else " [disabled]"
        lines.append(
            f"             {entry.name}{on}: {arches} via {entry.interpreter} (flags {entry.flags or '-'})"
        )
    lines += [f"             unreadable: {p}" for p in b.problems]
    return lines


def _engine(facts: HostFacts) -> list[str]:
    e = facts.engine
    if e is None:
        return []
    if not e.available:
        lines = [f"engine       none at {e.url}: {e.error}"]
        if e.error and e.error.startswith("permission denied"):
            lines.append(
                "             add yourself to the docker group (then log in again), or set DOCKER_HOST"
            )
        return lines
    kernel = "shares this kernel" if e.shares_host_kernel else "runs on another kernel (VM or remote)"
    images = console.plural(len(e.images), "image")
    return [f"engine       {e.label} at {e.url} ({e.os}/{e.arch}, {images}, {kernel})"]


def _pythons(facts: HostFacts) -> list[str]:
    lines: list[str] = []
    for i, interp in enumerate(facts.interpreters):
        head = "pythons      " if i == 0 else "             "
        lines.append(f"{head}{interp.path}: {interp.label} ({interp.environment})")
    if not facts.interpreters:
        lines.append("pythons      none found")
    quiet = [s for s in facts.skipped if s.reason.startswith(_QUIET_SKIPS)]
    for skip in facts.skipped:
        if skip not in quiet:
            lines.append(f"  skipped    {skip.path}: {skip.reason}")
    if quiet:
        lines.append(
            f"  skipped    {console.plural(len(quiet), 'other name')} for the interpreters above"
            " (shims, links; --format json lists them)"
        )
    return lines


def _summary(facts: HostFacts) -> list[str]:
    summary: dict[str, Any] = facts.can_build_for()
    native = summary["native"]
    also = f" (also runs {', '.join(native['also_runs'])})" if native["also_runs"] else ""
    container = summary["container"]
    emulated = [f"{e['arch']} via {e['note']}" for e in summary["emulated"]]
    no_emulation = f"none (install qemu-user-static and register binfmt_misc; {SETUP_HINT})"
    return [
        "can build for:",
        f"  native:    {native['arch']} {_platform(native['platform_tag'], native['arch'])}{also}",
        f"  container: {'yes' if container['available'] else 'no'} ({container['detail']})",
        f"  emulated:  {'; '.join(emulated) if emulated else no_emulation}",
    ]


def _platform(tag: str, arch: str) -> str:
    """`manylinux_2_36_x86_64` -> `manylinux_2_36`: the arch is already on the line."""
    return tag.removesuffix(f"_{arch}")


def _dot(version: tuple[int, int] | None) -> str:
    return "?" if version is None else f"{version[0]}.{version[1]}"
