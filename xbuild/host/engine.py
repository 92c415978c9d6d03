"""Is a Docker-compatible engine answering, which one, and does it share this kernel's binfmt_misc?"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xbuild.errors import EngineError
from xbuild.target import Arch

log = logging.getLogger("xbuild.host")

ENGINE_TIMEOUT = 3.0
_DEFAULT_HOST = "unix:///var/run/docker.sock"
# Every container xbuild starts carries these, so a run can find (and remove) exactly its own.
LABEL_OWNER = "io.xbuild.owner"
LABEL_RUN = "io.xbuild.run"
LABEL_PID = "io.xbuild.pid"


@dataclass(frozen=True, kw_only=True)
class EngineFacts:
    """What the engine at DOCKER_HOST said about itself, or why it said nothing."""

    url: str
    available: bool
    name: str | None = None  # "Docker", "Podman", "Docker Desktop"
    version: str | None = None
    api_version: str | None = None
    os: str | None = None
    arch: Arch | None = None
    images: frozenset[str] = frozenset()
    # A local Linux socket means containers run on this kernel, so its binfmt_misc entries apply.
    shares_host_kernel: bool = False
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name or 'engine'} {self.version or '?'}"

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "available": self.available,
            "name": self.name,
            "version": self.version,
            "api_version": self.api_version,
            "os": self.os,
            "arch": None if self.arch is None else str(self.arch),
            "images": sorted(self.images),
            "shares_host_kernel": self.shares_host_kernel,
            "error": self.error,
        }


ClientFactory = Callable[[float, Mapping[str, str]], Any]


def _docker_client(timeout: float, environ: Mapping[str, str]) -> Any:
    import docker  # imported lazily: only doctor and the container routes need the SDK

    return docker.from_env(timeout=timeout, environment=dict(environ))


def probe_engine(
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = ENGINE_TIMEOUT,
    client_factory: ClientFactory = _docker_client,
    linux_host: bool = True,
) -> EngineFacts:
    """Ask the engine at DOCKER_HOST for its version; any failure becomes `available=False`."""
    env = os.environ if environ is None else environ
    url = env.get("DOCKER_HOST") or _DEFAULT_HOST
    unreachable = _unix_socket_problem(url, timeout)
    if unreachable is not None:
        log.debug("no engine at %s: %s", url, unreachable)
        return EngineFacts(url=url, available=False, error=unreachable)
    try:
        client = client_factory(timeout, env)
    except Exception as exc:  # the SDK raises anything from DockerException to ssh errors
        log.debug("no engine at %s: %s", url, exc)
        return EngineFacts(url=url, available=False, error=_short(exc))
    try:
        return _describe(client, url, linux_host)
    except Exception as exc:  # an engine that answers then fails is still no engine
        log.debug("engine at %s failed: %s", url, exc)
        return EngineFacts(url=url, available=False, error=_short(exc))
    finally:
        client.close()


def _describe(client: Any, url: str, linux_host: bool) -> EngineFacts:
    info: dict[str, Any] = client.version()
    images = frozenset(
        tag
        for image in client.api.images()
        for tag in (image.get("RepoTags") or ())
        if tag != "<none>:<none>"
    )
    name = engine_name(info)
    local = url.startswith("unix://") and linux_host and name != "Docker Desktop"
    return EngineFacts(
        url=url,
        available=True,
        name=name,
        version=info.get("Version"),
        api_version=info.get("ApiVersion"),
        os=info.get("Os"),
        arch=Arch.from_alias(str(info.get("Arch") or "")),
        images=images,
        shares_host_kernel=local,
    )


def _unix_socket_problem(url: str, timeout: float) -> str | None:
    """Connect to a unix socket ourselves first: docker-py leaks the socket when connect fails."""
    if not url.startswith("unix://"):
        return None
    path = url.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
    except FileNotFoundError:
        return f"no socket at {path}"
    except PermissionError:
        return f"permission denied on {path}"
    except OSError as exc:
        return f"cannot connect to {path}: {exc.strerror or exc}"
    return None


def engine_name(version_info: Mapping[str, Any]) -> str:
    """Docker, Podman or Docker Desktop, from the engine's /version answer."""
    platform_name = str((version_info.get("Platform") or {}).get("Name", ""))
    components = " ".join(str(c.get("Name", "")) for c in version_info.get("Components") or ())
    if "Podman" in components or "Podman" in platform_name:
        return "Podman"
    if "Docker Desktop" in platform_name:
        return "Docker Desktop"
    return "Docker"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def docker_client(engine_url: str | None = None, timeout: int = 600) -> Any:
    """A docker SDK client; EngineError (exit 3) with how to start one when none answers."""
    import docker
    from docker.errors import DockerException

    try:
        # As DOCKER_HOST, so that DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply to tcp:// engines.
        environment = {**os.environ, "DOCKER_HOST": engine_url} if engine_url else None
        client = docker.from_env(timeout=timeout, environment=environment)
        client.ping()
    except DockerException as exc:
        where = engine_url or os.environ.get("DOCKER_HOST") or "the local Docker socket"
        raise EngineError(
            f"no Docker engine answers at {where}: {exc}",
            hint="start Docker (as root: scripts/setup-engine.sh), or set DOCKER_HOST",
        ) from exc
    return client
