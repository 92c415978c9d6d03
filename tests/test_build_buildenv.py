"""The build-environment cache: keyed by image ID, Python and requirements; never poisoned.

The loopback index serves pip 26.3 (Requires-Python >= 3.10) and pip 25.0, as PyPI did when a
failed py3.12 run on a py3.9 image cached pip 26.3 and broke every later py3.9 build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.build.buildenv import build_environment, environment_folder
from xbuild.errors import EngineError
from xbuild.index import HttpCache, IndexClient
from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.target import OS, Arch, Libc, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0")
PY39 = parse_target("debian-bullseye-x86_64", python_version="3.9", environ={})
PY312 = PY39.with_python((3, 12), None, "flag")
VERDICT = Verdict(route=RouteName.CONTAINER, possible=True, reason="test", image=None)
REQS = ("pip",)


@pytest.fixture
def client(index_server: IndexServer, tmp_path: Path) -> Iterator[IndexClient]:
    make_wheel(index_server.dist_dir, "pip", "26.3", requires_python=">=3.10")
    make_wheel(index_server.dist_dir, "pip", "25.0", requires_python=">=3.8")
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "http")) as c:
        yield c


def _wheels(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.whl"))


def test_a_failed_build_caches_nothing_and_the_right_python_gets_its_own_set(
    client: IndexClient, tmp_path: Path
) -> None:
    cache = tmp_path / "cache [ünï]"
    seen: list[str] = []

    def failing_build() -> None:
        with build_environment(REQS, PY312, VERDICT, "sha256:img", client, HOST, cache) as links:
            seen.extend(_wheels(links))
            raise EngineError('exec: "python3.12": executable file not found')

    with pytest.raises(EngineError):
        failing_build()
    assert seen == ["pip-26.3-py3-none-any.whl"]
    assert not (cache / "buildenv").exists() or not any((cache / "buildenv").iterdir())
    with build_environment(REQS, PY39, VERDICT, "sha256:img", client, HOST, cache) as links:
        assert _wheels(links) == ["pip-25.0-py3-none-any.whl"]
        assert links.is_relative_to(cache / "work")  # staged until the build succeeds
    final = environment_folder(cache, "sha256:img", PY39, None, REQS)
    assert _wheels(final) == ["pip-25.0-py3-none-any.whl"]
    assert not any((cache / "work").rglob("*.whl"))  # the staging folder is gone


def test_a_published_set_is_reused_and_keyed_per_image(
    client: IndexClient, index_server: IndexServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with build_environment(REQS, PY39, VERDICT, "sha256:img", client, HOST, cache):
        pass
    index_server.clear_requests()
    with build_environment(REQS, PY39, VERDICT, "sha256:img", client, HOST, cache) as links:
        assert links == environment_folder(cache, "sha256:img", PY39, None, REQS)
    assert index_server.requests() == []  # served from the cache: no resolution, no download
    assert environment_folder(cache, "sha256:other", PY39, None, REQS) != links


def test_an_incomplete_entry_is_never_used(client: IndexClient, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    final = environment_folder(cache, "sha256:img", PY39, None, REQS)
    final.mkdir(parents=True)
    (final / ".complete").write_text("pip-26.3-py3-none-any.whl\n")  # listed, but never written
    with build_environment(REQS, PY39, VERDICT, "sha256:img", client, HOST, cache) as links:
        assert links != final
    assert _wheels(final) == ["pip-25.0-py3-none-any.whl"]
