"""A build container as a context manager: call, copy in via mounts, always removed afterwards.

Containers are labelled with xbuild's run id so that a crashed run's leftovers can be found and
removed by their own ids (`cleanup_run`), never by guessing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbuild.errors import EngineError

log = logging.getLogger(__name__)

LABEL_OWNER = "io.xbuild.owner"
LABEL_RUN = "io.xbuild.run"
RUN_ID = uuid.uuid4().hex[:12]


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
    user: str | None = None  # uid:gid so outputs on bind mounts belong to the caller


def docker_client(engine_url: str | None = None) -> Any:
    """A docker SDK client; EngineError (exit 3) with how to start one when none answers."""
    import docker
    from docker.errors import DockerException

    try:
        client = (
            docker.DockerClient(base_url=engine_url, timeout=600)
            if engine_url
            else docker.from_env(timeout=600)
        )
        client.ping()
    except DockerException as exc:
        where = engine_url or os.environ.get("DOCKER_HOST") or "the local Docker socket"
        raise EngineError(
            f"no Docker engine answers at {where}: {exc}",
            hint="start Docker (as root: scripts/setup-engine.sh), or set DOCKER_HOST",
        ) from exc
    return client


def image_id(client: Any, image: str) -> str:
    from docker.errors import ImageNotFound

    try:
        return str(client.images.get(image).id)
    except ImageNotFound:
        raise EngineError(
            f"image {image} is not on the engine",
            hint=f"`docker pull {image}`, or for the local test images run scripts/setup-engine.sh",
        ) from None


class Container:
    """A started container; `call` runs commands in it and streams their output to a log file."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def call(self, cmd: Sequence[str], *, log_path: Path, what: str, workdir: str | None = None) -> None:
        log.debug("[container %s] $ %s", self.handle.short_id, " ".join(cmd))
        from docker.utils.socket import frames_iter

        api = self.handle.client.api
        exec_id = api.exec_create(self.handle.id, list(cmd), workdir=workdir)["Id"]
        # A raw socket we close ourselves: the SDK's streaming generator leaks its connection.
        sock = api.exec_start(exec_id, socket=True)
        try:
            with log_path.open("a", encoding="utf-8") as sink:
                sink.write(f"$ {' '.join(cmd)}\n")
                for _stream, chunk in frames_iter(sock, tty=False):
                    sink.write(chunk.decode("utf-8", errors="replace"))
                    sink.flush()
        finally:
            _close_stream(sock)
        code = api.exec_inspect(exec_id)["ExitCode"]
        if code != 0:
            from xbuild.build.process import tail

            raise EngineError(
                f"{what} failed in the container (exit {code}); last lines:\n{tail(log_path)}",
                hint=f"full log: {log_path}",
            )


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
    from docker.errors import APIError, DockerException
    from docker.types import Mount as DockerMount

    client = docker_client(spec.engine_url)
    handle = None
    # A local image is used as it is (imported images may carry wrong platform metadata, and asking
    # for a platform makes the engine try a registry); the route checks `uname -m` inside instead.
    platform = None if _present(client, spec.image) else spec.platform
    try:
        mounts = [
            DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in spec.mounts
        ]
        try:
            handle = client.containers.run(
                spec.image,
                ["sleep", "infinity"],
                detach=True,
                platform=platform,
                mounts=mounts,
                environment=dict(spec.environment),
                network_mode=None if spec.network else "none",
                labels={LABEL_OWNER: "xbuild", LABEL_RUN: RUN_ID},
                user=spec.user,
                auto_remove=False,
            )
        except (APIError, DockerException) as exc:
            raise EngineError(
                f"cannot start a container from {spec.image}: {exc}",
                hint="check the image exists (`docker images`) and the engine has disk space",
            ) from exc
        yield Container(handle)
    finally:
        if handle is not None:
            _remove(handle)
        client.close()


def _present(client: Any, image: str) -> bool:
    from docker.errors import DockerException

    try:
        client.images.get(image)
    except DockerException:
        return False
    return True


def _remove(handle: Any) -> None:
    from docker.errors import DockerException

    try:
        handle.remove(force=True)
    except DockerException as exc:  # already gone (killed) is fine; anything else is logged
        log.debug("removing container %s: %s", handle.short_id, exc)


def cleanup_run(run_id: str = RUN_ID, engine_url: str | None = None) -> int:
    """Remove every container this run started (by label); returns how many were removed."""
    client = docker_client(engine_url)
    try:
        found = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        for handle in found:
            _remove(handle)
        return len(found)
    finally:
        client.close()
