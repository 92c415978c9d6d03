"""CI fan-out: one job per configured target, with the runner it needs and the command to run."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from xbuild.target import OS, Arch, Target

# GitHub-hosted runner labels per (os, arch). Linux targets of a foreign arch can still build on
# x86_64 under emulation, but a native runner is faster, so the matrix asks for one.
_RUNNERS: dict[tuple[OS, Arch], str] = {
    (OS.LINUX, Arch.X86_64): "ubuntu-latest",
    (OS.LINUX, Arch.AARCH64): "ubuntu-24.04-arm",
    (OS.MACOS, Arch.AARCH64): "macos-14",
    (OS.MACOS, Arch.X86_64): "macos-13",
    (OS.WINDOWS, Arch.X86_64): "windows-latest",
    (OS.WINDOWS, Arch.AARCH64): "windows-11-arm",
    # Cross-compiled families: iOS needs Xcode (macOS runners); Android's NDK and Pyodide's
    # emscripten SDK run on Linux runners.
    (OS.IOS, Arch.AARCH64): "macos-14",
    (OS.IOS, Arch.X86_64): "macos-13",
    (OS.ANDROID, Arch.AARCH64): "ubuntu-latest",
    (OS.ANDROID, Arch.X86_64): "ubuntu-latest",
    (OS.EMSCRIPTEN, Arch.WASM32): "ubuntu-latest",
}


@dataclass(frozen=True, kw_only=True)
class MatrixEntry:
    target: str
    python: str
    runner: str
    arch: str
    os: str
    artifact: str
    command: str
    verify: str  # the gate: refuses the artifact unless the project's own wheel is there and fits

    def to_json(self) -> dict[str, str]:
        return {
            "target": self.target,
            "python": self.python,
            "runner": self.runner,
            "arch": self.arch,
            "os": self.os,
            "artifact": self.artifact,
            "command": self.command,
            "verify": self.verify,
        }


def entry(spelling: str, target: Target, project: str = ".", name: str | None = None) -> MatrixEntry:
    runner = _RUNNERS.get((target.os, target.arch), "ubuntu-latest")
    artifact = f"wheels-{spelling}-py{target.python}"
    # Quoted: a spelling or path with spaces, brackets or quotes must reach xbuild as one argument.
    command = shlex.join(
        [
            "xbuild",
            "build",
            "--project",
            project,
            "--python-platform",
            spelling,
            "--python-version",
            target.python,
            "-o",
            f"dist/{spelling}",
        ]
    )
    require = ["--require", name] if name else []
    verify = shlex.join(
        [
            "xbuild",
            "verify",
            f"dist/{spelling}",
            "--python-platform",
            spelling,
            "--python-version",
            target.python,
            *require,
        ]
    )
    return MatrixEntry(
        target=spelling,
        python=target.python,
        runner=runner,
        arch=str(target.arch),
        os=str(target.os),
        artifact=artifact,
        command=command,
        verify=verify,
    )


def github(entries: list[MatrixEntry]) -> dict[str, Any]:
    """`strategy.matrix` JSON: use with fromJSON() in a dependent job."""
    return {"include": [e.to_json() for e in entries]}


def gitlab(entries: list[MatrixEntry]) -> str:
    """A `parallel: matrix:` block for .gitlab-ci.yml."""
    lines = ["parallel:", "  matrix:"]
    for e in entries:
        # JSON strings are valid YAML double-quoted scalars, escapes included.
        lines += [
            f"    - XBUILD_TARGET: {json.dumps(e.target)}",
            f"      XBUILD_PYTHON: {json.dumps(e.python)}",
            f"      XBUILD_RUNNER: {json.dumps(e.runner)}",
        ]
    return "\n".join(lines) + "\n"
