"""Locks as plans: the real uv/pip locks read offline, and PEP 751 edge cases on the loopback index."""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.build.orchestrate import BuildSettings, carry_out
from xbuild.errors import ExitCode, InputError, RefusedError, UsageError
from xbuild.index import DistFile, HttpCache, IndexClient
from xbuild.plan.inputs import collect_inputs
from xbuild.plan.lock import write_pylock
from xbuild.plan.locked import find_lock, plan_from_lock, plan_lock_file, read_lock
from xbuild.plan.lockfile import is_lock_file
from xbuild.plan.model import Action, Plan, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.plan.serial import load_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, Target, parse_target

REAL = Path(__file__).parent / "fixtures" / "real"
UV_LOCK = REAL / "lambda-app" / "uv.lock"
HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset({Arch.AARCH64}), pythons=frozenset({"3.11"}))
ARM = parse_target("aws-lambda-python3.12-arm64", environ={})
X86 = parse_target("aws-lambda-python3.12-x86_64", environ={})
WINDOWS = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={})


def plan_of(path: Path, target: Target, **kw: object) -> Plan:
    extras = kw.pop("extras", ())
    groups = kw.pop("groups", ())
    lock = read_lock(path, target, extras=extras, groups=groups)  # type: ignore[arg-type]
    return plan_from_lock(lock, target, host=HOST, extras=extras, groups=groups, **kw)  # type: ignore[arg-type]


def versions(plan: Plan) -> dict[str, str]:
    return {d.name: d.version for d in plan.distributions}


def test_lock_names_follow_pep_751() -> None:
    good = ["pylock.toml", "pylock.dev.toml", "pylock.ünï.toml", "uv.lock"]
    bad = ["pylock.a.b.toml", "pylock..toml", "my-pylock.toml", "pylock.toml.bak", "requirements.txt"]
    assert all(is_lock_file(Path("some dir") / n) for n in good)
    assert not any(is_lock_file(Path(n)) for n in bad)


# --- the real locks, read offline -----------------------------------------------------------------


@pytest.mark.parametrize("target", [ARM, X86], ids=["arm64", "x86_64"])
def test_uv_pylock_and_uv_lock_plan_the_same_files(target: Target) -> None:
    from_pylock = plan_of(REAL / "pylock.toml", target)
    from_uv_lock = plan_of(UV_LOCK, target)
    assert [(d.name, d.version, d.file.url, d.file.sha256) for d in from_pylock.distributions] == [
        (d.name, d.version, d.file.url, d.file.sha256) for d in from_uv_lock.distributions
    ]
    assert all(d.action is Action.WHEEL for d in from_pylock.distributions)
    assert "tzdata" not in versions(from_pylock)  # sys_platform == 'win32'
    (skipped,) = from_pylock.skipped
    assert skipped.requirement == "tzdata==2026.6"
    assert skipped.reason.startswith('marker `sys_platform == "win32"` is false for manylinux_2_34')
    assert skipped.reason.endswith("; from pylock.toml")
    assert {"uvloop", "psycopg-binary", "pydantic-core", "fastapi", "mangum"} <= set(versions(from_pylock))


@pytest.mark.parametrize(("target", "arch"), [(ARM, "aarch64"), (X86, "x86_64")])
def test_wheels_are_picked_in_the_targets_tag_order(target: Target, arch: str) -> None:
    plan = plan_of(REAL / "pylock.toml", target)
    for d in plan.distributions:
        tags = d.file.filename.removesuffix(".whl").split("-")[-1]
        assert tags == "any" or arch in tags, d.file.filename
    psycopg = next(d for d in plan.distributions if d.name == "psycopg-binary")
    assert "cp312-cp312-manylinux" in psycopg.file.filename
    assert "lock" in psycopg.metadata_source and psycopg.reason.startswith("locked 3.")


def test_uv_lock_leaves_groups_out_unless_named() -> None:
    base = versions(plan_of(UV_LOCK, ARM))
    dev = versions(plan_of(UV_LOCK, ARM, groups=("dev",)))
    both = versions(plan_of(UV_LOCK, ARM, groups=("DEV", "lint")))
    assert "pytest" not in base and "ruff" not in base
    assert {"pytest", "pluggy", "iniconfig"} <= set(dev) and "ruff" not in dev
    assert "ruff" in both and "colorama" not in both  # colorama is win32-only
    assert "colorama" in versions(plan_of(UV_LOCK, WINDOWS, groups=("dev",)))
    with pytest.raises(UsageError, match="no dependency group 'docs'") as info:
        plan_of(UV_LOCK, ARM, groups=("docs",))
    assert "dev, lint" in (info.value.hint or "")


def test_uv_lock_extras_of_the_root() -> None:
    tracing = versions(plan_of(UV_LOCK, ARM, extras=("tracing",)))
    assert {"aws-xray-sdk", "botocore"} <= set(tracing)
    assert "aws-xray-sdk" not in versions(plan_of(UV_LOCK, ARM))
    with pytest.raises(UsageError, match="no extra 'nope'"):
        plan_of(UV_LOCK, ARM, extras=("nope",))


def test_virtual_root_contributes_only_its_dependencies() -> None:
    names = versions(plan_of(UV_LOCK, ARM))
    assert "lambda-app" not in names
    requested = {d.name: d.requested_by for d in plan_of(UV_LOCK, ARM).distributions}
    assert requested["fastapi"] == ("lambda-app 0.1.0",)
    assert "uvicorn 0.55.0" in requested["uvloop"]


def test_uv_lock_for_windows_takes_the_windows_only_packages() -> None:
    names = versions(plan_of(UV_LOCK, WINDOWS))
    assert "tzdata" in names and "uvloop" not in names


def test_an_all_groups_export_carries_its_groups() -> None:
    # uv settles groups at export time: `--all-groups` lists pytest with no group marker.
    dev = versions(plan_of(REAL / "pylock.dev.toml", ARM))
    assert {"pytest", "ruff"} <= set(dev) and "colorama" not in dev
    tools = ("pytest", "ruff", "pluggy", "iniconfig", "pygments", "packaging")
    production = {n: v for n, v in dev.items() if n not in tools}
    assert production == versions(plan_of(REAL / "pylock.toml", ARM))


def test_pip_lock_for_another_python_is_refused_naming_what_exists() -> None:
    lock = REAL / "pylock.pip311.toml"
    with pytest.raises(RefusedError) as info:
        plan_of(lock, X86)
    assert info.value.exit_code is ExitCode.REFUSED
    assert "pydantic-core 2.50.5: no wheel fits" in info.value.message
    assert "cp311-manylinux" in info.value.message  # the platforms it does have wheels for
    py311 = parse_target("aws-lambda-python3.12-x86_64", python_version="3.11", environ={})
    assert versions(plan_of(lock, py311)) == versions(plan_of(REAL / "pylock.toml", py311))


def test_pip_lock_is_for_the_platform_it_ran_on() -> None:
    # pip lock (run by Python 3.12 on an x86_64 host) records only that platform's wheels.
    lock = REAL / "pylock.pip.toml"
    assert versions(plan_of(lock, X86)) == versions(plan_of(REAL / "pylock.toml", X86))
    with pytest.raises(RefusedError) as info:
        plan_of(lock, ARM)
    assert "psycopg-binary 3.3.9: no wheel fits aws-lambda-python3.12-arm64" in info.value.message
    assert "cp312-manylinux_2_17_x86_64" in info.value.message


def test_requires_python_of_the_lock_is_checked() -> None:
    old = parse_target("aws-lambda-python3.12-x86_64", python_version="3.10", environ={})
    with pytest.raises(RefusedError, match=r"requires Python >=3\.11"):
        plan_of(REAL / "pylock.toml", old)


def test_a_lock_from_another_tool_needs_a_target(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="records no target") as info:
        load_plan(plan_file=None, lock=REAL / "pylock.toml", host=HOST, image=None, route=None)
    assert "-p" in (info.value.hint or "")
    plan = load_plan(plan_file=None, lock=UV_LOCK, host=HOST, image=None, route=None, target=ARM)
    assert versions(plan) == versions(plan_of(REAL / "pylock.toml", ARM))


# --- PEP 751 edge cases against the loopback index --------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(server: IndexServer, path: Path, *, digest: str | None = None) -> dict[str, object]:
    url = server.base_url + server.file_path(path.name)
    hashes = {"sha256": digest or sha(path)}
    return {"name": path.name, "url": url, "size": path.stat().st_size, "hashes": hashes}


def write_lock(tmp_path: Path, packages: list[dict[str, object]], name: str = "pylock.toml",
               top: dict[str, object] | None = None) -> Path:
    doc = {"lock-version": "1.0", "created-by": "a test", **(top or {}), "packages": packages}
    path = tmp_path / "lock dir ü" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def client(index_server: IndexServer, tmp_path: Path) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as c:
        yield c


def test_sdist_only_is_built_under_the_source_policy(index_server: IndexServer, tmp_path: Path) -> None:
    sdist = make_sdist(index_server.dist_dir, "src-only", "1.0")
    lock = write_lock(tmp_path, [{"name": "src-only", "version": "1.0", "sdist": entry(index_server, sdist)}])
    plan = plan_of(lock, X86)
    (d,) = plan.distributions
    assert d.action is Action.BUILD and d.route is not None and d.file.sha256 == sha(sdist)
    assert "build it" in d.reason
    for kw in ({"policy": SourcePolicy.NEVER}, {"only_binary": frozenset({":all:"})},
               {"only_binary": frozenset({"src-only"})}):
        with pytest.raises(RefusedError, match=r"src-only 1\.0: no wheel fits .* source builds are off"):
            plan_of(lock, X86, **kw)


def test_no_binary_builds_even_with_a_wheel(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "both", "2.0")
    sdist = make_sdist(index_server.dist_dir, "both", "2.0")
    lock = write_lock(tmp_path, [{"name": "both", "version": "2.0", "wheels": [entry(index_server, wheel)],
                                  "sdist": entry(index_server, sdist)}])
    assert plan_of(lock, X86).distributions[0].action is Action.WHEEL
    built = plan_of(lock, X86, no_binary=frozenset({"both"})).distributions[0]
    assert built.action is Action.BUILD and built.file.filename == sdist.name
    assert built.reason.endswith("--no-binary: built from the sdist")


def test_no_usable_file_names_package_and_platforms(index_server: IndexServer, tmp_path: Path) -> None:
    mac = make_wheel(index_server.dist_dir, "native", "1.0", tags=("cp312-cp312-macosx_11_0_arm64",))
    win = make_wheel(index_server.dist_dir, "native", "1.0", tags=("cp312-cp312-win_amd64",))
    lock = write_lock(tmp_path, [{"name": "native", "version": "1.0",
                                  "wheels": [entry(index_server, mac), entry(index_server, win)]}])
    with pytest.raises(RefusedError) as info:
        plan_of(lock, ARM)
    message = info.value.message
    assert "native 1.0: no wheel fits aws-lambda-python3.12-arm64 cp312 and the lock has no sdist" in message
    assert "cp312-macosx_11_0_arm64, cp312-win_amd64" in message


def test_best_tag_wins_whatever_the_order(index_server: IndexServer, tmp_path: Path) -> None:
    files = [make_wheel(index_server.dist_dir, "multi", "1.0", tags=(t,)) for t in
             ("py3-none-any", "cp312-abi3-manylinux_2_17_aarch64", "cp312-cp312-manylinux_2_28_aarch64",
              "cp312-cp312-musllinux_1_2_aarch64", "cp313-cp313-manylinux_2_28_aarch64")]
    lock = write_lock(tmp_path, [{"name": "multi", "version": "1.0",
                                  "wheels": [entry(index_server, f) for f in files]}])
    assert plan_of(lock, ARM).distributions[0].file.filename == files[2].name


def test_markers_environments_and_groups(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "pure", "1.0")
    e = entry(index_server, wheel)
    packages: list[dict[str, object]] = [
        {"name": "pure", "version": "1.0", "wheels": [e], "marker": "platform_machine == 'aarch64'"},
        {"name": "pure", "version": "1.0", "wheels": [e], "marker": "platform_machine == 'x86_64'"},
        {"name": "pure-dev", "version": "1.0", "wheels": [e], "marker": "'test' in dependency_groups"},
        {"name": "pure-x", "version": "1.0", "wheels": [e], "marker": "'fast' in extras"},
    ]
    top: dict[str, object] = {"default-groups": ["test"], "environments": ["sys_platform == 'linux'"],
                              "requires-python": ">=3.12"}
    lock = write_lock(tmp_path, packages, top=top)
    assert sorted(versions(plan_of(lock, ARM))) == ["pure", "pure-dev"]
    assert sorted(versions(plan_of(lock, ARM, groups=("other",), extras=("fast",)))) == ["pure", "pure-x"]
    with pytest.raises(RefusedError, match="was locked for"):
        plan_of(lock, WINDOWS)
    twice = write_lock(tmp_path, [packages[0], {**packages[0], "version": "2.0"}], name="pylock.twice.toml")
    with pytest.raises(InputError, match="pure is locked twice"):
        plan_of(twice, ARM)


def test_local_directory_and_relative_paths(tmp_path: Path) -> None:
    lock = write_lock(tmp_path, [
        {"name": "mine", "directory": {"path": "../my project ü", "editable": True}},
        {"name": "loose", "version": "1.0", "wheels": [
            {"path": "wheels/loose-1.0-py3-none-any.whl", "hashes": {"sha256": "ab" * 32}}]},
    ])
    plan = plan_of(lock, X86)
    by = {d.name: d for d in plan.distributions}
    assert by["mine"].action is Action.BUILD and by["mine"].file.url == (tmp_path / "my project ü").as_uri()
    assert by["loose"].file.url == (lock.parent / "wheels" / "loose-1.0-py3-none-any.whl").as_uri()


def test_remote_file_without_sha256_is_refused(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "nohash", "1.0")
    e = {**entry(index_server, wheel), "hashes": {"sha512": "ab" * 64}}
    lock = write_lock(tmp_path, [{"name": "nohash", "version": "1.0", "wheels": [e]}])
    with pytest.raises(RefusedError, match="no sha256"):
        plan_of(lock, X86)


@pytest.mark.parametrize("text", ["", "lock-version = '2.0'\npackages = []", "[[packages]]\nname = 'x'",
                                  "lock-version = '1.0'\n[[packages]]\nversion = '1'", "not toml ["])
def test_broken_locks_are_input_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        plan_of(path, X86)
    assert info.value.exit_code is ExitCode.USAGE


def test_xbuild_writes_what_it_reads(index_server: IndexServer, client: IndexClient, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "numpy", "2.0.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    make_sdist(index_server.dist_dir, "tool", "1.0")
    target = parse_target("x86_64-manylinux2014", python_version="3.12", environ={})
    planned = make_plan(collect_inputs(["numpy", "tool"], environ={}), target, client, host=HOST)
    lock = tmp_path / "pylock.toml"
    write_pylock(planned, lock)
    again = load_plan(plan_file=None, lock=lock, host=HOST, image=None, route=None)
    assert again.target == planned.target
    def key(p: Plan) -> list[tuple[object, ...]]:
        return [(d.name, d.version, d.action, d.file.url, d.file.sha256, d.reason) for d in p.distributions]

    assert key(again) == key(planned)


# --- hash checking on download ----------------------------------------------------------------


def test_a_wrong_hash_in_a_lock_writes_nothing(index_server: IndexServer, client: IndexClient,
                                              tmp_path: Path) -> None:
    good = make_wheel(index_server.dist_dir, "good", "1.0")
    bad = make_wheel(index_server.dist_dir, "bad", "1.0")
    lock = write_lock(tmp_path, [
        {"name": "good", "version": "1.0", "wheels": [entry(index_server, good)]},
        {"name": "bad", "version": "1.0", "wheels": [entry(index_server, bad, digest="0" * 64)]},
    ])
    plan = plan_of(lock, X86)
    out = tmp_path / "out"
    result = carry_out(plan, client, HOST, BuildSettings(out_dir=out, cache_dir=tmp_path / "build-cache"))
    assert not result.ok
    (failed,) = [o for o in result.outcomes if o.wheel is None]
    assert failed.name == "bad" and "does not match its published hash" in (failed.error or "")
    assert list(out.iterdir()) == []  # no wheel and no manifest: all or nothing
    cached = [p.name for p in (tmp_path / "cache").rglob("*.whl")]
    assert bad.name not in cached


def test_a_wrong_hash_download_raises_refused(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "bad", "1.0")
    file = DistFile(project="bad", filename=wheel.name,  # type: ignore[arg-type]
                    url=index_server.base_url + index_server.file_path(wheel.name),
                    hashes=(("sha256", "1" * 64),), index_url=index_server.index_url)
    for cache in (None, HttpCache(tmp_path / "c")):
        dest = tmp_path / "dest"
        dest.mkdir(exist_ok=True)
        with quick_client([index_server.index_url], cache=cache) as c, pytest.raises(RefusedError) as info:
            c.download(file, dest)
        assert info.value.exit_code is ExitCode.REFUSED
        assert list(dest.iterdir()) == []
    assert not list((tmp_path / "c").rglob("*.whl"))
    shutil.rmtree(tmp_path / "dest")


def test_hash_mode_requirements_refuse_a_file_that_matches_no_pin(
    index_server: IndexServer, client: IndexClient, tmp_path: Path
) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0")
    reqs = tmp_path / "req ü.txt"
    reqs.write_text(f"a==1.0 \\\n    --hash=sha256:{'0' * 64}\n", encoding="utf-8")
    with pytest.raises(RefusedError) as info:
        make_plan(collect_inputs([], [reqs], environ={}), X86, client, host=HOST)
    assert info.value.exit_code is ExitCode.REFUSED
    assert tomllib  # the module is used by the real-fixture tests above


def test_a_lock_is_the_only_input(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    assert find_lock([Path("reqs.txt")]) is None
    assert find_lock([lock]) == lock
    assert find_lock([UV_LOCK]) == UV_LOCK
    for kw in ({"requirements": ["numpy"]}, {"project": tmp_path}, {"constraint_files": [Path("c.txt")]}):
        with pytest.raises(UsageError, match="cannot be combined"):
            find_lock([lock], **kw)
    with pytest.raises(UsageError, match=r"cannot be combined with .*uv\.lock"):
        find_lock([lock, UV_LOCK])
    with pytest.raises(UsageError, match="is a lock file, not a requirements file"):
        collect_inputs([], [REAL / "pylock.toml"], environ={})


def test_plan_lock_file_is_read_then_plan() -> None:
    plan = plan_lock_file(UV_LOCK, ARM, host=HOST, groups=["dev"])
    assert versions(plan) == versions(plan_of(UV_LOCK, ARM, groups=("dev",)))


def test_archive_and_vcs_entries(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "direct", "1.0")
    archive = {k: v for k, v in entry(index_server, wheel).items() if k != "name"}
    lock = write_lock(tmp_path, [{"name": "direct", "version": "1.0", "archive": archive}])
    (d,) = plan_of(lock, X86).distributions
    assert d.action is Action.WHEEL and d.file.filename == wheel.name
    vcs = write_lock(tmp_path, [{"name": "from-git", "vcs": {
        "type": "git", "url": "https://user:secret@example.invalid/repo.git", "commit-id": "ab" * 20}}],
        name="pylock.vcs.toml")
    with pytest.raises(RefusedError, match="from-git: locked from VCS") as info:
        plan_of(vcs, X86)
    assert "secret" not in info.value.message


def test_bundle_of_a_tampered_lock_exits_1_and_writes_nothing(
    index_server: IndexServer, client: IndexClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xbuild.cli.main import main

    wheel = make_wheel(index_server.dist_dir, "pure-lib", "1.0")
    target = parse_target("x86_64-manylinux2014", python_version="3.12", environ={})
    lock = tmp_path / "pylock.toml"
    write_pylock(make_plan(collect_inputs(["pure-lib"], environ={}), target, client, host=HOST), lock)
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    cache = tmp_path / "xbuild cache ü"
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(cache))
    out = tmp_path / "function.zip"
    args = ["bundle", "--lock", str(lock), "-o", str(out), "--index-url", index_server.index_url,
            "-p", "x86_64-manylinux2014", "--python-version", "3.12"]
    assert main(args) == 1
    assert not out.exists()
    assert not [p for p in cache.rglob("*") if p.name == wheel.name]
