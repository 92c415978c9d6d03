"""uv.lock and uv's pylock export, written by the real uv against the loopback index, then planned.

uv locks universally from metadata alone, so it needs nothing but the loopback index: the locks
are made fresh by each test run from distributions built in tmp.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.build.orchestrate import BuildSettings, carry_out
from xbuild.errors import RefusedError
from xbuild.index import HttpCache, IndexClient
from xbuild.plan.locked import plan_lock_file
from xbuild.plan.model import Action, Plan, SourcePolicy
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, Target, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset({Arch.AARCH64}), pythons=frozenset({"3.11"}))
ARM = parse_target("aws-lambda-python3.12-arm64", environ={})
X86 = parse_target("aws-lambda-python3.12-x86_64", environ={})
MAC = parse_target("aarch64-apple-darwin", python_version="3.12", environ={})
WINDOWS = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={})


def uv_binary() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed: it writes the locks these tests read")
    return found


@dataclass(frozen=True)
class Project:
    root: Path
    uv_lock: Path
    pylock: Path


@pytest.fixture
def project(index_server: IndexServer, tmp_path: Path) -> Project:
    d = index_server.dist_dir
    requires = ["dep; sys_platform == 'linux'", "winonly; sys_platform == 'win32'"]
    make_wheel(d, "pure", "1.0", requires_dist=requires)
    make_wheel(d, "dep", "2.0")
    make_wheel(d, "winonly", "1.0")
    make_wheel(d, "native", "1.0",
               tags=("cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux2014_aarch64"))
    make_wheel(d, "native", "1.0", tags=("cp312-cp312-manylinux_2_28_x86_64",))
    make_wheel(d, "native", "1.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    make_sdist(d, "native", "1.0")
    make_wheel(d, "fast-lib", "3.0")
    make_wheel(d, "testtool", "1.0")
    root = tmp_path / "my app [ü]"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["pure", "native"]\n'
        '[project.optional-dependencies]\nFast = ["fast-lib; python_version >= \'3.12\'"]\n'
        '[dependency-groups]\ndev = ["testtool"]\n',
        encoding="utf-8",
    )
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1",
           "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS"):
        env.pop(name, None)
    python = shutil.which("python3.11") or sys.executable
    uv = uv_binary()
    export = ["export", "--frozen", "--no-dev", "--all-extras", "--format", "pylock.toml",
              "-o", "pylock.toml"]
    for args in (["lock", "--index-url", index_server.index_url], export):
        subprocess.run([uv, *args, "-q", "--python", python], cwd=root, env=env, check=True)
    return Project(root=root, uv_lock=root / "uv.lock", pylock=root / "pylock.toml")


@pytest.fixture
def client(index_server: IndexServer, tmp_path: Path) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as c:
        yield c


def by_name(plan: Plan) -> dict[str, tuple[str, Action, str]]:
    return {d.name: (d.version, d.action, d.file.filename) for d in plan.distributions}


def test_walk_for_linux_arm(project: Project) -> None:
    plan = plan_lock_file(project.uv_lock, ARM, host=HOST)
    assert by_name(plan) == {
        "dep": ("2.0", Action.WHEEL, "dep-2.0-py3-none-any.whl"),
        "native": ("1.0", Action.WHEEL,
                   "native-1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"),
        "pure": ("1.0", Action.WHEEL, "pure-1.0-py3-none-any.whl"),
    }
    assert dict((d.name, d.requested_by) for d in plan.distributions)["dep"] == ("pure 1.0",)


def test_best_tag_for_x86_64_and_windows_markers(project: Project) -> None:
    x86 = by_name(plan_lock_file(project.uv_lock, X86, host=HOST))
    assert x86["native"][2] == "native-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    windows = plan_lock_file(project.uv_lock, WINDOWS, host=HOST)
    assert set(by_name(windows)) == {"native", "pure", "winonly"}  # dep is linux-only
    assert by_name(windows)["native"][1] is Action.BUILD  # no win_amd64 wheel: the sdist


def test_groups_and_extras_only_when_named(project: Project) -> None:
    names = set(by_name(plan_lock_file(project.uv_lock, ARM, host=HOST, groups=["dev"], extras=["fast"])))
    assert names == {"dep", "native", "pure", "testtool", "fast-lib"}
    py311 = parse_target("aws-lambda-python3.12-arm64", python_version="3.11", environ={})
    assert "fast-lib" not in by_name(plan_lock_file(project.uv_lock, py311, host=HOST, extras=["fast"]))


def test_sdist_only_for_the_target_follows_the_source_policy(project: Project) -> None:
    plan = plan_lock_file(project.uv_lock, MAC, host=HOST)
    native = next(d for d in plan.distributions if d.name == "native")
    assert native.action is Action.BUILD and native.route is not None and not native.route.possible
    with pytest.raises(RefusedError) as info:
        plan_lock_file(project.uv_lock, MAC, host=HOST, policy=SourcePolicy.NEVER)
    assert "native 1.0: no wheel fits" in info.value.message
    assert "cp312-manylinux2014_aarch64" in info.value.message
    assert "cp312-manylinux_2_28_x86_64" in info.value.message


@pytest.mark.parametrize("target", [ARM, X86, MAC, WINDOWS], ids=["arm64", "x86_64", "macos", "windows"])
def test_uv_export_pylock_plans_as_the_uv_lock(project: Project, target: Target) -> None:
    from_export = plan_lock_file(project.pylock, target, host=HOST)
    from_lock = plan_lock_file(project.uv_lock, target, host=HOST, extras=["fast"])
    def key(plan: Plan) -> list[tuple[object, ...]]:
        return [(d.name, d.version, d.action, d.file.url, d.file.sha256) for d in plan.distributions]

    assert key(from_export) == key(from_lock)


def test_locked_files_download_and_a_tampered_one_writes_nothing(
    project: Project, index_server: IndexServer, client: IndexClient, tmp_path: Path
) -> None:
    plan = plan_lock_file(project.uv_lock, X86, host=HOST)
    good = carry_out(plan, client, HOST, BuildSettings(out_dir=tmp_path / "ok", cache_dir=tmp_path / "bc"))
    assert good.ok and sorted(p.name for p in (tmp_path / "ok").glob("*.whl")) == sorted(
        d.file.filename for d in plan.distributions)
    # The index now serves other bytes under the locked name: the lock's hash must catch it.
    tampered = index_server.dist_dir / "pure-1.0-py3-none-any.whl"
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    out = tmp_path / "out"
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "fresh-cache")) as fresh:
        result = carry_out(plan, fresh, HOST, BuildSettings(out_dir=out, cache_dir=tmp_path / "bc2"))
    assert not result.ok
    (failed,) = [o for o in result.outcomes if o.wheel is None]
    assert failed.name == "pure" and "does not match" in (failed.error or "")
    assert list(out.iterdir()) == []
    assert not list((tmp_path / "fresh-cache").rglob("pure-1.0-py3-none-any.whl"))


def test_find_links_and_path_sources(tmp_path: Path) -> None:
    wheels, proj = tmp_path / "wheels dir", tmp_path / "proj ü"
    make_wheel(wheels, "flpkg", "1.0")
    make_sdist(wheels, "flpkg", "1.0")
    local = make_wheel(proj / "dist", "pathpkg", "2.0")
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["flpkg", "pathpkg"]\n'
        '[tool.uv.sources]\npathpkg = { path = "dist/pathpkg-2.0-py3-none-any.whl" }\n',
        encoding="utf-8",
    )
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1",
           "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    python = shutil.which("python3.11") or sys.executable
    subprocess.run([uv_binary(), "lock", "-q", "--python", python, "--no-index", "--find-links", str(wheels)],
                   cwd=proj, env=env, check=True)
    plan = plan_lock_file(proj / "uv.lock", ARM, host=HOST)
    files = {d.name: d.file for d in plan.distributions}
    assert files["flpkg"].url == (wheels / "flpkg-1.0-py3-none-any.whl").as_uri()
    assert files["pathpkg"].url == local.as_uri() and files["pathpkg"].sha256
    assert all(d.action is Action.WHEEL for d in plan.distributions)
