"""A build container as a context manager: call, copy out, always removed afterwards.

Containers are labelled with xbuild's run id (and process id) so that leftovers can be found and
removed by their own labels (`leftovers.cleanup_run`), never by guessing. Every running container is also
known to this process, so the first Ctrl-C or SIGTERM kills them all at once (`stop_all`): blocked
exec streams then end, and the threads reading them unwind.

Untrusted code runs inside: containers run as an unprivileged uid, with no capabilities, no new
privileges and no network; outputs are copied out as tar data, never written on the host by the
container, so nothing it writes can become a root-owned or setuid file here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbuild.build.leftovers import remove_container
from xbuild.errors import EngineError
from xbuild.host._run import tail_file
from xbuild.host.cache import RUN_ID, note_engine
from xbuild.host.engine import LABEL_OWNER, LABEL_PID, LABEL_RUN, docker_client
from xbuild.util import signals

log = logging.getLogger(__name__)

# nobody:nogroup: owns nothing in the image or on the host.
SANDBOX_USER = "65534:65534"
# Outputs are wheels or METADATA; anything bigger than this is not a build output.
COPY_OUT_LIMIT = 2 * 1024**3
# Extra wait for an exec stream after the deadline, in case killing the container is not enough.
STREAM_GRACE = 30.0

__all__ = ["RUN_ID", "Container", "ContainerSpec", "Mount", "running", "stop_all"]


@dataclass(frozen=True, kw_only=True)
class Mount:
    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    image: str
    platform: str | None = None
    mounts: tuple[Mount, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    network: bool = False  # builds are hermetic: no network unless asked
    engine_url: str | None = None
    user: str | None = SANDBOX_USER
    timeout: float | None = None  # seconds from start; then the container is killed (exit 3)


def image_id(client: Any, image: str) -> str:
    from docker.errors import ImageNotFound

    try:
        return str(client.images.get(image).id)
    except ImageNotFound:
        raise EngineError(
            f"image {image} is not on the engine",
            hint=f"`docker pull {image}`, or for the local test images run scripts/setup-engine.sh",
        ) from None


# Containers of this process that are running now: id -> handle (plain dict ops are atomic).
_ACTIVE: dict[str, Any] = {}


def stop_all() -> int:
    """Kill and remove every container this process runs (signal handler; never raises)."""
    handles = list(_ACTIVE.values())
    for handle in handles:
        remove_container(handle)
    return len(handles)


signals.on_interrupt("containers", stop_all)


class Container:
    """A started container; `call` runs commands in it and streams their output to a log file."""

    def __init__(self, handle: Any, *, deadline: float | None = None, timeout: float | None = None) -> None:
        self.handle = handle
        self.deadline = deadline
        self.timeout = timeout
        self.expired = threading.Event()

    def call(self, cmd: Sequence[str], *, log_path: Path, what: str, workdir: str | None = None) -> None:
        log.debug("[container %s] $ %s", self.handle.short_id, " ".join(cmd))
        from docker.errors import DockerException

        signals.check()
        api = self.handle.client.api
        try:
            exec_id = api.exec_create(self.handle.id, list(cmd), workdir=workdir)["Id"]
            # A raw socket we close ourselves: the SDK's streaming generator leaks its connection.
            sock = api.exec_start(exec_id, socket=True)
            try:
                self._pump(sock, cmd, log_path)
            finally:
                _close_stream(sock)
            code = api.exec_inspect(exec_id)["ExitCode"]
        except (DockerException, OSError) as exc:
            self._stopped(what, log_path)
            raise EngineError(f"{what}: the container stopped: {exc}", hint=f"log: {log_path}") from exc
        self._stopped(what, log_path)
        if code != 0:
            raise EngineError(
                f"{what} failed in the container (exit {code}); last lines:\n{tail_file(log_path)}",
                hint=f"full log: {log_path}",
            )

    def _pump(self, sock: Any, cmd: Sequence[str], log_path: Path) -> None:
        from docker.utils.socket import frames_iter

        raw = getattr(sock, "_sock", None)
        if raw is not None and self.deadline is not None:
            # The watchdog kills the container at the deadline, which ends the stream; this read
            # timeout is the backstop for an engine that keeps the stream open anyway.
            raw.settimeout(max(1.0, self.deadline - time.monotonic()) + STREAM_GRACE)
        with log_path.open("a", encoding="utf-8") as sink:
            sink.write(f"$ {' '.join(cmd)}\n")
            try:
                for _stream, chunk in frames_iter(sock, tty=False):
                    sink.write(chunk.decode("utf-8", errors="replace"))
                    sink.flush()
            except TimeoutError:
                self.expired.set()

    def _stopped(self, what: str, log_path: Path) -> None:
        """Raise the reason a call ended early: the run is interrupted, or the deadline passed."""
        signals.check()
        if self.expired.is_set():
            raise EngineError(
                f"{what}: timed out after {self.timeout:.0f} s; the container was stopped",
                hint=f"raise --build-timeout, or see what hangs in {log_path}",
            )

    def copy_out(self, path: str, dest: Path, *, suffix: str, limit: int = COPY_OUT_LIMIT) -> list[Path]:
        """Copy the regular files `path/*<suffix>` to dest as files of this process (mode 0644).

        Links, devices, setuid bits, owners and subdirectories in the container never reach
        the host: only the bytes of matching regular files are written here.
        """
        from docker.errors import DockerException

        dest.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryFile(dir=dest) as buf:
                stream, _stat = self.handle.get_archive(path)
                size = 0
                for chunk in stream:
                    size += len(chunk)
                    if size > limit:
                        raise EngineError(f"{path} in the container holds more than {limit} bytes")
                    buf.write(chunk)
                buf.seek(0)
                return _extract_outputs(buf, dest, suffix)
        except (DockerException, OSError, tarfile.TarError) as exc:
            signals.check()
            raise EngineError(f"cannot copy {path} out of the container: {exc}") from exc


def _extract_outputs(buf: Any, dest: Path, suffix: str) -> list[Path]:
    found = []
    with tarfile.open(fileobj=buf, mode="r:") as tf:
        for member in tf:
            parts = Path(member.name).parts
            name = parts[-1] if len(parts) == 2 else ""
            if not (member.isreg() and name.endswith(suffix) and not name.startswith(".")):
                continue
            source = tf.extractfile(member)
            if source is None:
                continue
            target = dest / name
            with source, target.open("wb") as sink:
                while block := source.read(1024 * 1024):
                    sink.write(block)
            target.chmod(0o644)
            found.append(target)
    return sorted(found)


def _close_stream(sock: Any) -> None:
    """Close the exec stream's response, its SocketIO and the socket under it (in that order)."""
    response = getattr(sock, "_response", None)
    for closer in (
        getattr(response, "close", None),
        sock.close,
        getattr(getattr(sock, "_sock", None), "close", None),
    ):
        if closer is not None:
            with contextlib.suppress(OSError, ValueError):
                closer()


@contextmanager
def running(spec: ContainerSpec) -> Iterator[Container]:
    """Start a container that idles until removed; it is removed on every exit path (Ctrl-C too)."""
    signals.check()
    if spec.engine_url:
        note_engine(spec.engine_url)  # before the container exists: a kill right after leaves a trace
    client = docker_client(spec.engine_url)
    handle = None
    watchdog = None
    try:
        handle = _start(client, spec)
        _ACTIVE[handle.id] = handle
        signals.check()  # a signal that arrived while the container was being created
        deadline = time.monotonic() + spec.timeout if spec.timeout else None
        box = Container(handle, deadline=deadline, timeout=spec.timeout)
        if spec.timeout:
            watchdog = threading.Timer(spec.timeout, _expire, args=(box,))
            watchdog.daemon = True
            watchdog.start()
        yield box
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if handle is not None:
            remove_container(handle)
            _ACTIVE.pop(handle.id, None)
        client.close()


def _start(client: Any, spec: ContainerSpec) -> Any:
    from docker.errors import APIError, DockerException
    from docker.types import Mount as DockerMount

    # A local image is used as it is (imported images may carry wrong platform metadata, and asking
    # for a platform makes the engine try a registry); the route checks `uname -m` inside instead.
    platform = None if _present(client, spec.image) else spec.platform
    mounts = [DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in spec.mounts]
    try:
        return client.containers.run(
            spec.image,
            ["sleep", "infinity"],
            detach=True,
            platform=platform,
            mounts=mounts,
            environment=dict(spec.environment),
            network_mode=None if spec.network else "none",
            labels={LABEL_OWNER: "xbuild", LABEL_RUN: RUN_ID, LABEL_PID: str(os.getpid())},
            user=spec.user,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=4096,
            auto_remove=False,
        )
    except (APIError, DockerException) as exc:
        raise EngineError(
            f"cannot start a container from {spec.image}: {exc}",
            hint="check the image exists (`docker images`) and the engine has disk space",
        ) from exc


def _expire(box: Container) -> None:
    box.expired.set()
    log.debug("container %s: deadline passed, killing it", box.handle.short_id)
    from docker.errors import DockerException

    with contextlib.suppress(DockerException, OSError):
        box.handle.kill()


def _present(client: Any, image: str) -> bool:
    from docker.errors import DockerException

    try:
        client.images.get(image)
    except DockerException:
        return False
    return True
