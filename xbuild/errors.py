"""The one error root. Each subclass carries its exit code and a hint; only the CLI prints them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1  # a wheel, plan or bundle was refused or mismatched the target
    USAGE = 2  # bad arguments or unreadable input
    ENGINE = 3  # a needed engine or tool is missing or failed


class XbuildError(Exception):
    """Base of every error xbuild raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(XbuildError):
    """The user asked for something malformed or unknown."""

    exit_code = ExitCode.USAGE


class InputError(XbuildError):
    """An input file, directory or URL could not be read or parsed."""

    exit_code = ExitCode.USAGE


class RefusedError(XbuildError):
    """xbuild understood the request and refuses it: mismatch, conflict or policy."""

    exit_code = ExitCode.REFUSED


class EngineError(XbuildError):
    """A needed engine or tool (Docker, qemu, a compiler, an index) is missing or failed."""

    exit_code = ExitCode.ENGINE
