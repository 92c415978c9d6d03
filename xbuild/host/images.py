"""What a build image really is, learnt by running one short container per image ID, ever.

A plan that builds from source names an image; before anything is built, the route checks need
its arch, C library, Pythons and compiler. images.toml says what an image should be; this module
asks the image itself (`uname -m`, `getconf GNU_LIBC_VERSION`, the musl loader's banner, each
Python's own answer) in a container with no network, auto-removed, labelled with this run's id,
and bounded in time. The answer is cached under `<cache>/images/` by image ID: an ID names
immutable content, so an entry never goes stale, and a re-tagged image gets a new ID.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from xbuild.errors import EngineError, UsageError
from xbuild.host._run import tail
from xbuild.host.cache import RUN_ID
from xbuild.host.cacheroot import default_cache_dir
from xbuild.host.engine import LABEL_OWNER, LABEL_RUN, docker_client
from xbuild.host.libc import glibc_version_from_confstr, glibc_version_from_ldd, musl_version_from_banner
from xbuild.images import ImageFacts, ImagePython
from xbuild.routes.base import BuildHost
from xbuild.routes.checks import image_for
from xbuild.target import OS, Arch, Libc, Target
from xbuild.util.atomic import write_text_atomic

log = logging.getLogger("xbuild.host")

INSPECT_TIMEOUT = 60.0  # one Python start per interpreter, under qemu for a foreign image
LABEL_INSPECT = "io.xbuild.inspect"

# POSIX sh only: the image may be Debian, Alpine (busybox) or manylinux. One `key=value` per line;
# `end=1` last, so a cut-off answer is never taken for a complete one.
SCRIPT = r"""
echo "machine=$(uname -m)"
v=$(getconf GNU_LIBC_VERSION 2>/dev/null) && echo "gnu_libc=$v"
echo "ldd=$(ldd --version 2>&1 | head -n 1)"
for l in /lib/ld-musl-*.so.1; do
  [ -e "$l" ] && "$l" 2>&1 | head -n 2 | sed 's/^/musl=/'
done
c=$(command -v cc || command -v gcc) && echo "compiler=$c"
seen=""
for p in $(for n in 6 7 8 9 10 11 12 13 14 15 16; do command -v python3.$n; done;
           command -v python3; ls /opt/python/*/bin/python 2>/dev/null); do
  r=$(readlink -f "$p" 2>/dev/null || echo "$p")
  case " $seen " in *" $r "*) continue ;; esac
  seen="$seen $r"
  a=$("$p" -I -S -c 'import sys, sysconfig; print("%d.%d %s %d" % (sys.version_info[0],
sys.version_info[1], sys.implementation.name, bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))' \
    2>/dev/null) && echo "python=$a $p"
done
echo end=1
"""
SCRIPT_DIGEST = hashlib.sha256(SCRIPT.encode()).hexdigest()[:12]


def parse_inspection(image: str, image_id: str, output: str) -> ImageFacts:
    """ImageFacts from the script's output (pure: tests feed it recorded answers)."""
    fields: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields.setdefault(key.strip(), []).append(value.strip())

    def first(key: str) -> str | None:
        values = fields.get(key)
        return values[0] if values else None

    if first("end") != "1" or first("machine") is None:
        tail = " ".join(output.strip().splitlines()[-3:]) or "no output"
        return ImageFacts(image=image, image_id=image_id, error=f"the inspection did not finish ({tail})")
    machine = first("machine")
    libc, version = _libc(first("gnu_libc"), first("ldd"), fields.get("musl", []))
    return ImageFacts(
        image=image,
        image_id=image_id,
        arch=Arch.from_alias(machine) if machine else None,
        machine=machine,
        libc=libc,
        libc_version=version,
        pythons=tuple(p for p in (_python(v) for v in fields.get("python", [])) if p is not None),
        compiler=first("compiler") or None,
    )


def _libc(gnu: str | None, ldd: str | None, musl: list[str]) -> tuple[Libc | None, tuple[int, int] | None]:
    glibc = glibc_version_from_confstr(gnu) or glibc_version_from_ldd(ldd or "")
    if glibc is not None:
        return Libc.GLIBC, glibc
    version = musl_version_from_banner("\n".join(musl))
    if version is not None or musl or (ldd or "").startswith("musl"):
        return Libc.MUSL, version
    return None, None


def _python(value: str) -> ImagePython | None:
    parts = value.split(" ", 3)
    if len(parts) != 4 or parts[0].count(".") != 1:
        return None
    version, implementation, free_threaded, path = parts
    return ImagePython(
        version=version, path=path, implementation=implementation, free_threaded=free_threaded == "1"
    )


class ImageFactsCache:
    """One JSON file per image ID under `<root>/images/`; any I/O problem is a miss, never an error."""

    def __init__(self, root: Path) -> None:
        self.root = root / "images"

    def _path(self, image_id: str) -> Path:
        # The script's digest is part of the name: a changed inspection re-inspects every image.
        return self.root / f"{image_id.replace(':', '-')}-{SCRIPT_DIGEST}.json"

    def get(self, image: str, image_id: str) -> ImageFacts | None:
        try:
            data = json.loads(self._path(image_id).read_text(encoding="utf-8"))
            facts = ImageFacts.from_json(data)
        except (OSError, ValueError) as exc:
            log.debug("no cached facts for %s (%s): %s", image, image_id, exc)
            return None
        return replace(facts, image=image) if facts.image_id == image_id else None

    def put(self, facts: ImageFacts) -> None:
        if facts.image_id is None or facts.error is not None:
            return  # only complete answers are kept: a timeout may not happen next time
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self._path(facts.image_id), json.dumps(facts.to_json(), indent=1))
        except OSError as exc:
            log.debug("cannot cache facts of %s: %s", facts.image, exc)


def inspect_images(
    images: Iterable[str],
    *,
    engine_url: str | None = None,
    cache: ImageFactsCache | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = INSPECT_TIMEOUT,
) -> tuple[ImageFacts, ...]:
    """The facts of each image on the engine at `engine_url` (None: DOCKER_HOST or the local one)."""
    store = cache or ImageFactsCache(default_cache_dir(os.environ if environ is None else environ))
    client = docker_client(engine_url)
    try:
        return tuple(_facts(client, name, store, timeout) for name in dict.fromkeys(images))
    finally:
        client.close()


def _facts(client: Any, image: str, store: ImageFactsCache, timeout: float) -> ImageFacts:
    from docker.errors import APIError, ImageNotFound

    try:
        attrs: dict[str, Any] = client.api.inspect_image(image)
    except ImageNotFound:
        return ImageFacts(image=image, image_id=None)
    except APIError as exc:
        if exc.status_code == 400:  # the engine's word for a malformed reference
            raise UsageError(
                f"{image!r} is not an image reference: {exc.explanation}",
                hint="name an image as REPOSITORY[:TAG] or REPOSITORY@sha256:DIGEST (see `docker images`)",
            ) from None
        raise EngineError(f"the engine failed to inspect image {image}: {_short(exc)}") from exc
    image_id = str(attrs["Id"])
    cached = store.get(image, image_id)
    if cached is not None:
        return cached
    log.info("inspecting image %s (%s), once per image ID", image, image_id[:19])
    facts = _inspect(client, image, image_id, _platform(attrs), timeout)
    store.put(facts)
    return facts


def _platform(attrs: Mapping[str, Any]) -> str | None:
    """The image's own platform: passing it runs a foreign image through qemu, never pulls."""
    os_, arch, variant = attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")
    if not os_ or not arch:
        return None
    return "/".join(str(p) for p in (os_, arch, variant) if p)


def _inspect(client: Any, image: str, image_id: str, platform: str | None, timeout: float) -> ImageFacts:
    from docker.errors import DockerException

    api = client.api
    try:
        container = api.create_container(
            image_id,
            ["sh", "-c", SCRIPT],
            labels={LABEL_OWNER: "xbuild", LABEL_RUN: RUN_ID, LABEL_INSPECT: image_id},
            host_config=api.create_host_config(auto_remove=True, network_mode="none"),
            platform=platform,
        )
    except DockerException as exc:
        return ImageFacts(image=image, image_id=image_id, error=f"cannot start a container: {_short(exc)}")
    cid = container["Id"]
    try:
        stdout, stderr, timed_out = _run_attached(api, cid, timeout)
    except DockerException as exc:
        return ImageFacts(image=image, image_id=image_id, error=f"the container failed: {_short(exc)}")
    finally:
        _remove(api, cid)
    if timed_out:
        return ImageFacts(image=image, image_id=image_id, error=f"no answer within {timeout:g} s")
    facts = parse_inspection(image, image_id, stdout)
    if facts.error is not None and stderr.strip():
        return replace(facts, error=f"{facts.error}: {tail(stderr, 3)}")
    return facts


def _run_attached(api: Any, cid: str, timeout: float) -> tuple[str, str, bool]:
    """Start the container and read its output to the end; a watchdog kills it after `timeout`."""
    from docker.utils.socket import STDOUT, frames_iter

    # Attached before start: an auto-removed container's logs vanish with it.
    sock = api.attach_socket(cid, params={"stdout": 1, "stderr": 1, "stream": 1, "logs": 1})
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        _remove(api, cid)

    watchdog = threading.Timer(timeout, kill)
    out: list[bytes] = []
    err: list[bytes] = []
    try:
        api.start(cid)
        watchdog.start()
        for stream, chunk in frames_iter(sock, tty=False):
            (out if stream == STDOUT else err).append(chunk)
    finally:
        watchdog.cancel()
        _close(sock)
    return _text(out), _text(err), fired.is_set()


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace")


def _remove(api: Any, cid: str) -> None:
    """Remove the container, and return only once it is gone (auto-removal runs asynchronously)."""
    from docker.errors import DockerException, NotFound

    try:
        api.remove_container(cid, force=True)
        return
    except NotFound:
        return
    except DockerException as exc:  # 409: auto-removal is already under way
        log.debug("removing inspection container %s: %s", cid[:12], exc)
    try:
        api.wait(cid, timeout=10, condition="removed")
    except (DockerException, OSError) as exc:  # NotFound: gone already; OSError: a timed-out wait
        log.debug("waiting for container %s to go: %s", cid[:12], exc)


def _close(sock: Any) -> None:
    for closer in (getattr(getattr(sock, "_response", None), "close", None), sock.close):
        if closer is not None:
            with contextlib.suppress(OSError, ValueError):
                closer()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def with_image_facts(
    host: BuildHost,
    target: Target,
    image: str | None,
    *,
    cache: ImageFactsCache | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = INSPECT_TIMEOUT,
) -> BuildHost:
    """`host` plus the facts of the image the target's builds would use, when an engine answers."""
    chosen = image_for(target, host, image)
    engine_url = host.remote_engine(target.arch)
    # Only where a container route could run the image: elsewhere the checks refuse without it.
    runnable = engine_url is not None or (
        host.engine is not None and (target.arch is host.arch or target.arch in host.emulated_arches)
    )
    if target.os is not OS.LINUX or chosen is None or not runnable:
        return host
    facts = inspect_images([chosen], engine_url=engine_url, cache=cache, environ=environ, timeout=timeout)
    return replace(host, image_facts=(*host.image_facts, *facts))
