"""Replay of an unchanged offline `xbuild plan`: same command, same inputs, same answer.

An `--offline` plan depends only on what it reads from this machine: the command line, the
environment, the working directory, the requirement files, the project's config and the cache.
A run that read nothing else, wrote nothing, started no process and exited 0 leaves a record
here: its output and the identity (mtime, size, inode) of everything it opened or listed, of
the files whose absence it relied on (a `pyproject.toml` in the project directory) and of the
code that ran. The next identical command whose recorded inputs all still match prints that
output without importing the planner, typer or rich, as uv answers from its cache. Anything
that does not match runs the plan again, and that run records anew.

This module is the whole fast path, so it imports only built-in modules: start-up is the point.
Records are `marshal` data; the key holds `sys.version`, so a record never meets another format.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from contextlib import contextmanager, suppress

TYPE_CHECKING = False  # mypy reads the block below; importing typing is 3 ms of a 35 ms replay
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, TextIO

_FORMAT = 1
_KEEP = 64  # records kept per cache: enough for every plan a project runs, small on disk
# The root's verbosity flags (`cli.main` moves them first): one list, here where start-up is cheap.
VERBOSE_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose"})
# Set per shell or per process, never read by xbuild: they must not make each run a new key.
_VOLATILE_ENV = frozenset({"_", "OLDPWD", "SHLVL", "PWD", "TERM_SESSION_ID", "WINDOWID"})
# Opening these is reading code, which the module stamps cover (a .pyc outlives its source edit).
_CODE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
_DISQUALIFY = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.fork",
        "socket.connect",
        "socket.getaddrinfo",
        "os.rename",
        "os.replace",
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.symlink",
        "os.link",
        "os.truncate",
        "os.chmod",
        "os.utime",
        "shutil.rmtree",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
    }
)

Stamp = tuple[int, int, int] | None


def eligible(argv: list[str]) -> bool:
    """An offline `plan`, not verbose (-vv prints timings), writing to no terminal (live output),
    unless XBUILD_REPLAY=0 asks for planning every time."""
    if os.environ.get("XBUILD_REPLAY", "").strip() == "0":
        return False
    args = before_dashes(argv)
    if (
        command_of(args) != "plan"
        or "--offline" not in args
        or VERBOSE_FLAGS.intersection(args)
        or "-" in args
    ):
        return False
    return not any(_isatty(stream) for stream in (sys.stdout, sys.stderr))


def before_dashes(argv: list[str]) -> list[str]:
    """The command line up to `--`: what is read as the command and its flags."""
    return argv[: argv.index("--")] if "--" in argv else argv


def command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line, skipping the root options."""
    return next((a for a in argv if not a.startswith("-")), None)


def replay(argv: list[str]) -> int | None:
    """Print the recorded output and return its exit code, or None when the plan must run."""
    try:
        key = _key(argv)
        with open(_record_path(key), "rb") as f:
            record = marshal.load(f)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(record, tuple) or len(record) != 5 or record[0] != _FORMAT or record[1] != key:
        return None
    _, _, stamps, (out, err), code = record
    if any(_stamp(path) != stamp for path, stamp in stamps):
        return None
    sys.stderr.write(err)
    sys.stderr.flush()
    sys.stdout.write(out)
    sys.stdout.flush()
    return int(code)


@contextmanager
def recording(argv: list[str]) -> Iterator[Callable[[int], None]]:
    """Watch the run; the yielded `done(code)` stores the record when the run qualifies."""
    try:
        key = _key(argv)
    except OSError:  # the working directory is gone: the run reports that, nothing is recorded
        yield lambda code: None
        return
    watch = _Watch(key, argv)
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    sys.stdout, sys.stderr = out, err
    _WATCHES.append(watch)

    def done(code: int) -> None:
        _unwatch(watch)  # storing the record is not part of what the plan read
        watch.finish(code, out.text(), err.text())

    try:
        yield done
    finally:
        _unwatch(watch)
        sys.stdout, sys.stderr = out.inner, err.inner


def _unwatch(watch: _Watch) -> None:
    if watch in _WATCHES:
        _WATCHES.remove(watch)


class _Watch:
    def __init__(self, key: tuple[Any, ...], argv: list[str]) -> None:
        self.key = key
        self.argv = argv
        self.paths: dict[str, Stamp] = {}
        self.spoiled = False

    def event(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "os.mkdir" and args and os.path.isdir(os.fsdecode(args[0])):
            return  # makedirs(exist_ok=True) of a directory that is there: no change
        if name in _DISQUALIFY or name.startswith("os.exec"):
            self.spoiled = True
        elif name == "open":
            self._opened(args)
        elif name in ("os.listdir", "os.scandir") and args:
            self._seen(args[0] if args[0] is not None else ".")

    def _opened(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = [*args, None, None, None][:3]
        if isinstance(path, int) or path is None:
            return  # an already open descriptor: its file was seen when it was opened
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        )
        if writes:
            self.spoiled = True
        elif not os.fsdecode(path).endswith(_CODE_SUFFIXES):
            self._seen(path)

    def _seen(self, path: Any) -> None:
        full = os.path.abspath(os.fsdecode(path))
        if full not in self.paths:
            stamp = _stamp(full)
            self.paths[full] = stamp
            if stamp is not None and stamp[2] == -1:
                self.spoiled = True  # a device, pipe or socket: its content has no stamp

    def finish(self, code: int, out: str, err: str) -> None:
        if self.spoiled or code != 0:
            return
        if any(_stamp(path) != stamp for path, stamp in self.paths.items()):
            return  # something changed while the plan ran: its output may mix old and new
        paths = dict(self.paths)
        for path in _context_paths(self.argv):
            paths.setdefault(path, _stamp(path))
        _store(self.key, (_FORMAT, self.key, tuple(paths.items()), (out, err), code))


_WATCHES: list[_Watch] = []


def _audit(name: str, args: tuple[Any, ...]) -> None:
    if not _WATCHES:
        return
    if name == "os.listdir" and sys._getframe(1).f_code.co_name == "_fill_cache":
        return  # the import system listing a path entry: code, which the module stamps cover
    for watch in _WATCHES:
        watch.event(name, args)


_HOOKED: list[bool] = []


def install() -> None:
    """Audit hooks cannot be removed, so one hook serves every recording of the process."""
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)


def _context_paths(argv: list[str]) -> Iterator[str]:
    """The project config of the working directory and of any directory named on the command
    line (its absence counts too), every import directory (an install changes site-packages)
    and every xbuild module that ran."""
    for directory in (os.getcwd(), *(a for a in argv if os.path.isdir(a))):
        yield os.path.join(os.path.abspath(directory), "pyproject.toml")
    # The working directory is on the path under `python -m`; its mtime moves with any file
    # made there, and modules are stamped one by one below.
    here = os.getcwd()
    yield from (os.path.abspath(p) for p in sys.path if p and os.path.isdir(p) and os.path.abspath(p) != here)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "xbuild" or name.startswith("xbuild.")) and isinstance(file, str):
            yield file


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    kind = st.st_mode & 0o170000
    if kind not in (0o100000, 0o040000):  # a regular file or a directory
        return (0, 0, -1)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _key(argv: list[str]) -> tuple[Any, ...]:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_ENV))
    return (sys.version, sys.executable, _version(), os.getcwd(), tuple(argv), env)


def _version() -> str:
    from xbuild import __version__  # the package's __init__ holds only the version string

    return __version__


def _record_dir() -> str:
    from xbuild.host.cacheroot import default_cache_dir  # a small module: os and pathlib only

    return os.path.join(default_cache_dir(), "replay")


def _record_path(key: tuple[Any, ...]) -> str:
    # repr, not marshal: marshal's output for equal values depends on object identity.
    data = repr(key).encode("utf-8", "surrogateescape")
    name = f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"  # a file name; the key inside decides
    return os.path.join(_record_dir(), name)


def _store(key: tuple[Any, ...], record: tuple[Any, ...]) -> None:
    path = _record_path(key)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            marshal.dump(record, f)
        os.replace(tmp, path)
        _prune(os.path.dirname(path))
    except (OSError, ValueError):  # a record is an optimisation: never fail the run for it
        with suppress(OSError):
            os.unlink(tmp)


def _prune(directory: str) -> None:
    entries = sorted(os.scandir(directory), key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for entry in entries[_KEEP:]:
        with suppress(OSError):
            os.unlink(entry.path)


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is None or stream.isatty()
    except (AttributeError, ValueError, OSError):
        return True  # closed or unknown: treated as a terminal, which is never recorded


class _Tee:
    """A text stream that passes everything on and keeps a copy of what was written."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return self.inner.write(text)

    def text(self) -> str:
        return "".join(self._parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
