"""Sources: the build cache, engine pools, and (with real engines) the scale-out path.

The scale-out tests start a second, private `dockerd` (its own socket, data root and exec root,
no bridge, no iptables), load the arm64 build image into it, and route the aarch64 builds there
through `[tool.xbuild.engines]` and `XBUILD_ENGINE_AARCH64`. The daemon is stopped and its data
root removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from build_helpers import C_SOURCE, SETUP_PY, make_c_extension_sdist
from hostile_sdists import make_hostile_sdist
from support.clients import quick_client
from support.packages import make_wheel

from xbuild.build.job import BuildJob
from xbuild.build.outcome import Origin
from xbuild.build.routed import BuildCache, EnginePool, RouteSource, engine_urls
from xbuild.cli.main import main
from xbuild.errors import EngineError
from xbuild.host.cache import sweep
from xbuild.host.engine import LABEL_PID
from xbuild.plan.model import Action, PlannedDist, PlannedFile, RoutePlan
from xbuild.routes.base import BuildHost, RouteName
from xbuild.target import OS, Arch, Libc, Target, parse_target

PY39 = parse_target("debian-bullseye-x86_64", python_version="3.9", environ={})

DEFAULT_ENGINE = "unix:///var/run/docker.sock"


def test_engine_urls_of_a_setting() -> None:
    assert engine_urls(None) == (None,)
    assert engine_urls("  ") == (None,)
    assert engine_urls("ssh://arm-1") == ("ssh://arm-1",)
    assert engine_urls(" ssh://arm-1\ttcp://arm-2:2376 ") == ("ssh://arm-1", "tcp://arm-2:2376")


def test_a_pool_gives_each_build_the_least_busy_engine() -> None:
    pool = EnginePool.of("tcp://a:2376 tcp://b:2376")
    first, second = pool.acquire(), pool.acquire()
    assert {first, second} == {"tcp://a:2376", "tcp://b:2376"}
    pool.release(first)
    assert pool.acquire() == first  # the engine that finished is free again
    threads = [threading.Thread(target=lambda: pool.release(pool.acquire())) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {pool.acquire(), pool.acquire()} == {"tcp://a:2376", "tcp://b:2376"}  # counts stayed right


def test_build_cache_publishes_one_wheel_per_key(tmp_path: Path) -> None:
    cache = BuildCache(root=tmp_path / "built [ünï]")
    assert cache.get("k") is None
    wheel = tmp_path / "a-1.0-py3-none-any.whl"
    wheel.write_bytes(b"first")
    cache.put("k", wheel)
    other = tmp_path / "other" / "a-1.0-py3-none-any.whl"
    other.parent.mkdir()
    other.write_bytes(b"second")
    cache.put("k", other)  # a peer's entry for the same key: the first one stays
    got = cache.get("k")
    assert got is not None and got.read_bytes() == b"first"
    assert sorted(p.name for p in cache.root.iterdir()) == ["k"]  # no temp folder left


class RecordingBuilder:
    """A Builder double: writes a real wheel into the job's out_dir, or fails like a compiler."""

    def __init__(self, fail: bool = False) -> None:
        self.jobs: list[BuildJob] = []
        self.fail = fail

    def __call__(self, job: BuildJob) -> Path:
        self.jobs.append(job)
        if self.fail:
            raise EngineError(f"{job.name}: compiler error [x]")
        return make_wheel(job.out_dir, job.name, job.version, tags=("cp39-cp39-manylinux_2_31_x86_64",))


def _local_project(folder: Path) -> PlannedDist:
    folder.mkdir(parents=True)
    (folder / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    return PlannedDist(
        name="local-proj",
        version="1.0",
        action=Action.BUILD,
        file=PlannedFile(filename=folder.name, url=folder.as_uri(), sha256=None),
        reason="the project",
        requested_by=("user",),
        route=RoutePlan(route="native", image=None, possible=True, reason="host is the target"),
    )


def _route_source(tmp_path: Path, builder: RecordingBuilder, target: Target = PY39) -> RouteSource:
    host = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 31))
    with quick_client([], cache=None) as client:  # a local project: nothing is downloaded
        return RouteSource(
            target=target,
            client=client,
            host=lambda: host,
            cache_dir=tmp_path / "cache",
            builders={RouteName.NATIVE: builder},
        )


def test_route_source_builds_once_then_serves_the_cache(tmp_path: Path) -> None:
    dist = _local_project(tmp_path / "my project 'ünï'")
    builder = RecordingBuilder()
    first = _route_source(tmp_path, builder).obtain(dist, _staging(tmp_path, "a"))
    assert first.origin is Origin.BUILT and first.engine == "host" and first.wheel is not None
    assert len(builder.jobs) == 1 and not builder.jobs[0].out_dir.exists()  # work folder removed
    relabelled = replace(PY39, description="edited description", name="renamed")
    again = _route_source(tmp_path, builder, relabelled).obtain(dist, _staging(tmp_path, "b"))
    assert again.origin is Origin.CACHE and again.wheel is not None and len(builder.jobs) == 1
    assert again.wheel.read_bytes() == first.wheel.read_bytes()
    (tmp_path / "my project 'ünï'" / "setup.py").write_text("from setuptools import setup\nsetup(name='x')\n")
    edited = _route_source(tmp_path, builder).obtain(dist, _staging(tmp_path, "c"))
    assert edited.origin is Origin.BUILT and len(builder.jobs) == 2


def test_a_failed_build_is_not_cached(tmp_path: Path) -> None:
    dist = _local_project(tmp_path / "proj")
    with pytest.raises(EngineError, match="compiler error"):
        _route_source(tmp_path, RecordingBuilder(fail=True)).obtain(dist, _staging(tmp_path, "a"))
    built = tmp_path / "cache" / "built"
    assert not built.exists() or not any(built.iterdir())
    builder = RecordingBuilder()
    assert _route_source(tmp_path, builder).obtain(dist, _staging(tmp_path, "b")).origin is Origin.BUILT
    assert len(builder.jobs) == 1


def _staging(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "staging" / name
    folder.mkdir(parents=True)
    return folder


# --- the scale-out path, with a second real engine -------------------------------------------


def _answers(url: str) -> bool:
    done = subprocess.run(["docker", "-H", url, "version"], capture_output=True, timeout=10, check=False)
    return done.returncode == 0


@dataclass(frozen=True, kw_only=True)
class Engine:
    url: str  # unix:// socket
    tls_url: str  # tcp:// with TLS: the way a team reaches a remote builder
    cert_path: Path  # ca.pem, cert.pem, key.pem for DOCKER_CERT_PATH


def _certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as the Docker docs make them."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    days = ("-days", "2")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        *days,
        "-subj",
        "/CN=xbuild test CA",
    )
    for name, csr, ext, cn in (
        ("server", "server.csr", "server.ext", "127.0.0.1"),
        ("client", "client.csr", "client.ext", "client"),
    ):
        key = "server-key.pem" if name == "server" else "key.pem"
        cert = "server-cert.pem" if name == "server" else "cert.pem"
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
        openssl(
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            cert,
            *days,
            "-extfile",
            ext,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def second_engine(arm64_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A private dockerd holding only the arm64 build image, on a unix socket and on TLS tcp."""
    if shutil.which("dockerd") is None or shutil.which("openssl") is None:
        pytest.skip("no dockerd or openssl to start a second engine with")
    root = tmp_path_factory.mktemp("engine2")  # short: a unix socket path has ~107 bytes
    _certificates(root / "tls")
    engine = Engine(
        url=f"unix://{root}/docker.sock", tls_url=f"tcp://127.0.0.1:{_free_port()}", cert_path=root / "tls"
    )
    log = (root / "dockerd.log").open("w")
    daemon = subprocess.Popen(
        [
            "dockerd",
            f"--host={engine.url}",
            f"--host={engine.tls_url}",
            "--tlsverify",
            f"--tlscacert={root / 'tls' / 'ca.pem'}",
            f"--tlscert={root / 'tls' / 'server-cert.pem'}",
            f"--tlskey={root / 'tls' / 'server-key.pem'}",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'docker.pid'}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(engine.url):
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"a second dockerd did not start: {(root / 'dockerd.log').read_text()[-500:]}")
            time.sleep(0.5)
        load = f"docker save {arm64_image} | docker -H {engine.url} load"
        subprocess.run(["sh", "-c", load], check=True, capture_output=True, timeout=300)
        yield engine
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
        log.close()
        shutil.rmtree(root / "data", ignore_errors=True)
        shutil.rmtree(root / "exec", ignore_errors=True)


def _project(folder: Path, name: str, engines: str) -> Path:
    """A C-extension project whose pyproject sends aarch64 builds to `engines`."""
    pkg = name.replace("-", "_")
    (folder / "src").mkdir(parents=True)
    (folder / pkg).mkdir()
    (folder / "src" / "cext.c").write_text(C_SOURCE)
    (folder / "setup.py").write_text(SETUP_PY.format(pkg=pkg))
    (folder / pkg / "__init__.py").write_text("from ._cext import answer\n")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\nrequires-python = ">=3.8"\n\n'
        f'[tool.setuptools]\npackages = ["{pkg}"]\n\n'
        f'[tool.xbuild.engines]\naarch64 = "{engines}"\n'
    )
    return folder


def _manifest(out: Path) -> list[dict[str, str]]:
    wheels: list[dict[str, str]] = json.loads((out / "xbuild-manifest.json").read_text())["wheels"]
    return wheels


@pytest.mark.network
@pytest.mark.container
@pytest.mark.emulation
def test_pyproject_engines_send_aarch64_builds_to_the_second_engine(
    second_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XBUILD_ENGINE_AARCH64", raising=False)
    project = _project(tmp_path / "my project 'ünï'", "scale-out-cext", second_engine.url)
    out = tmp_path / "dist"
    code = main(
        ["build", "--project", str(project), "--python-platform", "debian-bullseye-aarch64", "-o", str(out)]
    )
    assert code == 0
    [wheel] = _manifest(out)
    assert wheel["name"] == "scale-out-cext" and "aarch64" in wheel["filename"]
    assert wheel["engine"] == second_engine.url and wheel["origin"] == "built"


@pytest.mark.network
@pytest.mark.container
@pytest.mark.emulation
def test_jobs_run_builds_on_every_engine_of_the_pool(
    second_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    make_c_extension_sdist(links, "pool-one")
    make_c_extension_sdist(links, "pool-two")
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XBUILD_ENGINE_AARCH64", f"{second_engine.url} {DEFAULT_ENGINE}")
    out = tmp_path / "dist"
    args = ["pool-one", "pool-two", "-f", str(links), "--python-platform", "debian-bullseye-aarch64"]
    started = time.monotonic()
    assert main(["build", *args, "-o", str(out), "-j", "2"]) == 0
    took = time.monotonic() - started
    wheels = _manifest(out)
    assert {w["name"] for w in wheels} == {"pool-one", "pool-two"}
    assert {w["engine"] for w in wheels} == {second_engine.url, DEFAULT_ENGINE}  # one build on each
    assert all("aarch64" in w["filename"] and w["image_id"] for w in wheels)
    print(f"two emulated builds on two engines with -j 2: {took:.1f} s")


def _containers_on(url: str, label: str) -> list[object]:
    import docker

    client = docker.DockerClient(base_url=url)
    try:
        return list(client.containers.list(all=True, filters={"label": label}))
    finally:
        client.close()


@pytest.mark.network
@pytest.mark.container
@pytest.mark.emulation
def test_a_killed_runs_containers_on_another_engine_are_swept(second_engine: Engine, tmp_path: Path) -> None:
    """SIGKILL leaves the build's container on the second engine; the next run removes it there."""
    cache = tmp_path / "cache"
    links = tmp_path / "links"
    make_hostile_sdist(links, name="xbuild-test-sleeper", marker=tmp_path / "m", static=True, sleep=600)
    env = {
        **os.environ,
        "XBUILD_CACHE_DIR": str(cache),
        "XBUILD_ENGINE_AARCH64": second_engine.url,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    args = ["xbuild-test-sleeper==1.0", "-f", str(links), "--python-platform", "debian-bullseye-aarch64"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "xbuild", "build", *args, "-o", str(tmp_path / "out")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    label = f"{LABEL_PID}={proc.pid}"
    try:
        deadline = time.monotonic() + 300
        while not _containers_on(second_engine.url, label):
            assert proc.poll() is None and time.monotonic() < deadline, "no build container appeared"
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    assert _containers_on(second_engine.url, label)  # a killed process cannot remove its container
    assert sweep(cache, keep="the-next-run")  # what the next run does first
    assert _containers_on(second_engine.url, label) == []


@pytest.mark.network
@pytest.mark.container
@pytest.mark.emulation
def test_a_tls_engine_builds_what_its_arch_needs(
    second_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tcp:// with TLS, as a team reaches a remote builder: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH."""
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XBUILD_ENGINE_AARCH64", second_engine.tls_url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(second_engine.cert_path))
    # requests lets these override any CA a client sets: with them, only the system CAs count.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    links = tmp_path / "links"
    make_c_extension_sdist(links, "tls-cext")
    out = tmp_path / "dist"
    assert (
        main(
            [
                "build",
                "tls-cext",
                "-f",
                str(links),
                "--python-platform",
                "debian-bullseye-aarch64",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    [wheel] = _manifest(out)
    assert wheel["engine"] == second_engine.tls_url and "aarch64" in wheel["filename"]
