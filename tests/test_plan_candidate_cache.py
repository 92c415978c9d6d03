"""Judged candidates on disk: a warm plan reads them instead of pages, and gets the same plan."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from support.clients import NO_NETRC, quick_client
from support.index_server import JSON_TYPE, IndexServer
from support.loopback import send, serving
from support.packages import make_sdist, make_wheel

from xbuild.errors import RefusedError
from xbuild.index import DistFile, HttpCache, IndexClient, KeptRows, ProjectPage
from xbuild.index.models import from_row, row_of
from xbuild.index.urls import project_url
from xbuild.plan.candidate_cache import CandidateStore, Judged, JudgedKey, JudgedProjects
from xbuild.plan.candidates import Fits, GroupedFiles, TagsFit, by_version, fitting, select
from xbuild.plan.inputs import collect_inputs
from xbuild.plan.model import Plan, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, Target, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset(), pythons=frozenset({"3.12"}))
X86_312 = parse_target("x86_64-manylinux2014", python_version="3.12", environ={})
ARM_312 = parse_target("aarch64-manylinux_2_28", python_version="3.12", environ={})
NAME = canonicalize_name("zebra-lib")
X86 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"


def plan_with(client: IndexClient, reqs: list[str], target: Target = X86_312,
              policy: SourcePolicy = SourcePolicy.PREFER_BINARY) -> Plan:
    return make_plan(collect_inputs(reqs), target, client, host=HOST, policy=policy)


def pins(p: Plan) -> dict[str, tuple[str, str]]:
    return {d.name: (d.version, d.file.filename) for d in p.distributions}


def a_world(dists: Path) -> None:
    """Hostile-ish names, a dependency, wheels for two platforms, an old sdist-only release."""
    needs = ["tiny-dep[fast] >=1; python_version >= '3.8'"]
    make_wheel(dists, "Zebra.Lib", "2.0", tags=(X86,), requires_dist=needs)
    make_wheel(dists, "Zebra.Lib", "2.0", tags=("cp312-cp312-manylinux_2_28_aarch64",))
    make_wheel(dists, "Zebra.Lib", "3.0", tags=("cp312-cp312-macosx_11_0_arm64",))
    make_sdist(dists, "Zebra.Lib", "3.0")
    make_wheel(dists, "tiny_dep", "1.5", requires_dist=['Quote_OK.x >= 0.1 ; extra == "fast"'],
               root_is_purelib=True)
    make_wheel(dists, "quote-ok-x", "0.1")
    make_wheel(dists, "tiny_dep", "9.0", requires_python=">=3.13")


def test_a_warm_plan_reads_judged_files_not_pages(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    cache = HttpCache(tmp_path / "cache")
    with quick_client([index_server.index_url], cache=cache) as client:
        cold = plan_with(client, ["zebra-lib"])
    assert pins(cold)["zebra-lib"] == ("2.0", f"zebra_lib-2.0-{X86}.whl")
    assert pins(cold)["tiny-dep"][0] == "1.5"
    # Damage every page body: a plan that read a page offline would now fail.
    for path in (tmp_path / "cache" / "pages").rglob("*"):
        if path.is_file() and not path.name.endswith(".files"):
            path.write_bytes(path.read_bytes() + b"damaged")
    with quick_client([index_server.index_url], cache=cache, offline=True) as client:
        warm = plan_with(client, ["zebra-lib"])
    assert pins(warm) == pins(cold)
    assert [d.reason for d in warm.distributions] == [d.reason for d in cold.distributions]


def test_entries_are_per_target(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    cache = HttpCache(tmp_path / "cache")
    with quick_client([index_server.index_url], cache=cache) as client:
        x86 = plan_with(client, ["zebra-lib"])
    with quick_client([index_server.index_url], cache=cache) as client:
        arm = plan_with(client, ["zebra-lib"], target=ARM_312)
    assert pins(x86)["zebra-lib"][1] == f"zebra_lib-2.0-{X86}.whl"
    assert pins(arm)["zebra-lib"][1] == "zebra_lib-2.0-cp312-cp312-manylinux_2_28_aarch64.whl"


def test_entries_are_per_python_patch_release(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "patchy", "1.0")
    make_wheel(index_server.dist_dir, "patchy", "2.0", requires_python=">=3.12.5")
    cache = HttpCache(tmp_path / "cache")
    early = parse_target("x86_64-manylinux2014", python_version="3.12.4", environ={})
    late = parse_target("x86_64-manylinux2014", python_version="3.12.6", environ={})
    with quick_client([index_server.index_url], cache=cache) as client:
        assert pins(plan_with(client, ["patchy"], target=early))["patchy"][0] == "1.0"
    with quick_client([index_server.index_url], cache=cache) as client:
        assert pins(plan_with(client, ["patchy"], target=late))["patchy"][0] == "2.0"


def test_a_changed_page_is_judged_again(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "grows", "1.0")
    cache = HttpCache(tmp_path / "cache")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert pins(plan_with(client, ["grows"]))["grows"][0] == "1.0"
    entries = sorted(p for p in (tmp_path / "cache" / "candidates").rglob("*") if p.is_file())
    make_wheel(index_server.dist_dir, "grows", "1.1")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert pins(plan_with(client, ["grows"]))["grows"][0] == "1.1"
    # The new verdict replaced the old one rather than adding a second entry.
    assert sorted(p for p in (tmp_path / "cache" / "candidates").rglob("*") if p.is_file()) == entries


def test_a_damaged_entry_is_a_miss(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    cache = HttpCache(tmp_path / "cache")
    with quick_client([index_server.index_url], cache=cache) as client:
        cold = plan_with(client, ["zebra-lib"])
    entries = [p for p in (tmp_path / "cache" / "candidates").rglob("*") if p.is_file()]
    assert entries
    for path in entries:
        path.write_bytes(path.read_bytes()[:-3])
    with quick_client([index_server.index_url], cache=cache) as client:
        assert pins(plan_with(client, ["zebra-lib"])) == pins(cold)


def test_a_failure_is_explained_as_without_the_cache(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    messages = []
    for cache in (HttpCache(tmp_path / "cache"), HttpCache(tmp_path / "cache"), None):
        refused = pytest.raises(RefusedError)
        with quick_client([index_server.index_url], cache=cache) as client, refused as info:
            plan_with(client, ["zebra-lib>=3"], policy=SourcePolicy.NEVER)
        messages.append((info.value.message, info.value.hint))
    assert messages[0] == messages[1] == messages[2]
    assert "macosx" in messages[0][0]  # the platforms of the wheels the target cannot use


def test_the_lookahead_reads_metadata_never_whole_wheels(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as client:
        plan_with(client, ["zebra-lib"])
    paths = [r.path for r in index_server.requests()]
    assert any(p.endswith(".whl.metadata") for p in paths)
    assert not any(p.endswith(".whl") for p in paths)


def test_fitting_keeps_every_candidate(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=None) as client:
        files = client.project("zebra-lib").files
    for target in (X86_312, ARM_312):
        for policy in SourcePolicy:
            whole = list(select(NAME, files, target, SpecifierSet(), policy=policy))
            judged = list(select(NAME, fitting(files, target), target, SpecifierSet(), policy=policy))
            assert judged == whole
    assert len(fitting(files, X86_312)) < len(files)


def test_the_store_checks_its_key(tmp_path: Path, index_server: IndexServer) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=None) as client:
        files = client.project("zebra-lib").files
    store = CandidateStore(tmp_path / "candidates")
    key = JudgedKey(project="zebra-lib", validator="v1", tags="t", python_full="3.12.8", prerelease="allow")
    store.store(key, Judged.of(KeptRows.of_files(files), Fits(X86_312)))
    loaded = store.load(key)
    fitted = fitting(files, X86_312)
    assert loaded is not None and len(loaded) == len(fitted) < len(files)
    assert dict(by_version(loaded)) == dict(by_version(fitted))  # same groups, newest first
    assert list(by_version(loaded)) == list(by_version(fitted))
    other = JudgedKey(project="zebra-lib", validator="v2", tags="t", python_full="3.12.8", prerelease="allow")
    assert store.load(other) is None


def test_the_page_validator_follows_the_page(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "grows", "1.0")
    cache = HttpCache(tmp_path / "cache")
    with quick_client([index_server.index_url], cache=cache) as client:
        first = client.page_validator("grows")
        client.project("grows")  # stores the page
    with quick_client([index_server.index_url], cache=cache, offline=True) as client:
        assert client.page_validator("Grows") == first
    assert cache.load_page_header(project_url(index_server.index_url, canonicalize_name("grows"))) is not None
    make_wheel(index_server.dist_dir, "grows", "1.1")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.page_validator("grows") != first
    with quick_client([index_server.index_url], cache=None) as client:
        assert client.page_validator("grows") is None


def test_judged_projects_stop_when_closed(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as client:
        judged = JudgedProjects(client, X86_312, prerelease="allow", store=None)
        with judged:
            assert judged.files("Zebra_Lib") == fitting(client.project("zebra-lib").files, X86_312)
        judged.prefetch(["tiny-dep"])  # after close: ignored, no thread left behind


class _RecordingSource:
    """A page source that records which projects were asked for, in order, and has no files."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def project(self, name: str) -> ProjectPage:
        self.asked.append(name)
        return ProjectPage(name=canonicalize_name(name), files=(), index_url="https://index.example/")

    def page_validator(self, name: str) -> str | None:
        return None

    def project_rows(self, name: str, keep: Callable[[str], bool]) -> KeptRows:
        raise AssertionError("no store: whole pages only")


def test_prefetch_keeps_the_order_given_and_asks_once() -> None:
    """The resolver asks in this order; one worker shows the order the pages are fetched in."""
    source = _RecordingSource()
    with JudgedProjects(source, X86_312, prerelease="allow", store=None, workers=1) as judged:
        judged.prefetch(["Zeta_Pkg", "alpha", "zeta-pkg", "Beta.X"])
        judged.prefetch(["alpha", "gamma"])
        deadline = time.monotonic() + 30  # leaving the block cancels what has not started
        while len(source.asked) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert source.asked == ["zeta-pkg", "alpha", "beta-x", "gamma"]


def test_a_stored_entry_keeps_each_files_index_and_builds_versions_lazily(
    tmp_path: Path, index_server: IndexServer
) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=None) as client:
        files = client.project("zebra-lib").files
    other = "https://mirror.example/simple/ü 'x'/"
    mixed = tuple(replace(f, index_url=other) if n % 2 else f for n, f in enumerate(files))
    store = CandidateStore(tmp_path / "candidates")
    key = JudgedKey(project="zebra-lib", validator="v", tags="t", python_full="3.12.8", prerelease="allow")
    store.store(key, Judged.of(KeptRows.of_files(mixed), _every_file))
    loaded = store.load(key)
    assert isinstance(loaded, GroupedFiles)
    first = next(select(NAME, loaded, X86_312, SpecifierSet(), policy=SourcePolicy.NEVER))
    assert first.version == Version("2.0")
    assert loaded.built_groups() == 2  # 3.0 (no wheel for the target) and 2.0, nothing older
    assert sorted(loaded, key=lambda f: f.filename) == sorted(mixed, key=lambda f: f.filename)


def _every_file(filename: str, requires_python: str | None) -> bool:
    return True


def test_a_cold_judgement_builds_only_the_versions_reached(index_server: IndexServer) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=None) as client:
        files = client.project("zebra-lib").files
    judged = Judged.of(KeptRows.of_files(files), Fits(X86_312)).files()
    first = next(select(NAME, judged, X86_312, SpecifierSet(), policy=SourcePolicy.NEVER))
    assert first.version == Version("2.0") and judged.built_groups() == 2  # 3.0 (an sdist) and 2.0
    fitted = by_version(fitting(files, X86_312))
    assert list(by_version(judged).items()) == list(fitted.items())  # the same files, version by version


def _kept_files(kept: KeptRows) -> list[DistFile]:
    return kept.files(range(len(kept.rows)))


def test_a_wrong_guess_never_downloads_a_whole_wheel(index_server: IndexServer, tmp_path: Path) -> None:
    """No PEP 658 files, no byte ranges: the lookahead guesses b 2.0, the resolver needs b 1.0."""
    make_wheel(index_server.dist_dir, "a-root", "1.0", requires_dist=["b-dep<2"])
    make_wheel(index_server.dist_dir, "b-dep", "1.0")
    make_wheel(index_server.dist_dir, "b-dep", "2.0")
    index_server.config.serve_metadata = False
    index_server.config.support_ranges = False
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as client:
        assert pins(plan_with(client, ["a-root"]))["b-dep"][0] == "1.0"
    # Whole downloads carry no Range header (a refused range request is only an attempt).
    whole = [r.path.rsplit("/", 1)[-1] for r in index_server.requests()
             if r.path.endswith(".whl") and "range" not in r.headers]
    assert sorted(whole) == ["a_root-1.0-py3-none-any.whl", "b_dep-1.0-py3-none-any.whl"]


def test_the_resolver_reuses_what_the_lookahead_read(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as client:
        plan_with(client, ["zebra-lib"])
    metadata = [r.path for r in index_server.requests() if r.path.endswith(".metadata")]
    assert metadata and len(metadata) == len(set(metadata))  # each read once, by one of them


@pytest.mark.parametrize("page_format", ["html", "json"])
def test_tags_fit_keeps_what_fitting_keeps(index_server: IndexServer, page_format: str) -> None:
    a_world(index_server.dist_dir)
    index_server.config.page_format = page_format  # type: ignore[assignment]
    with quick_client([index_server.index_url], cache=None) as client:
        files = client.project("zebra-lib").files
        for target in (X86_312, ARM_312):
            kept = _kept_files(client.project_rows("Zebra.Lib", TagsFit(target)))
            assert fitting(kept, target) == fitting(files, target)
            assert len(kept) < len(files)


ODD_NAMES = [
    "foo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "foo-1.0-1build-cp312-cp312-manylinux2014_x86_64.whl",  # a build tag: four dashes before the tags
    "foo-1.0-cp312-cp312-win_amd64.whl",
    "foo-1.0-py2.py3-none-any.whl",
    "foo-1.0-cp39-abi3-manylinux_2_28_aarch64.whl",
    "foo-1.0.tar.gz",
    "foo-1.0.zip",
    "foo.whl",
    "foo-1.0.whl",
    "foo-1.0-py3.whl",
    "-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-.whl",
    "foo-1.0-not a tag-none-any.whl",
    "README",
]


@pytest.mark.parametrize("target", [X86_312, ARM_312], ids=["x86_64", "aarch64"])
def test_tags_fit_never_drops_what_fitting_keeps(target: Target) -> None:
    """The filename test runs first and alone on the cold path: whatever it drops, `fitting`
    must drop too, for every name a page may list (odd ones included)."""
    fit = TagsFit(target)
    for name in ODD_NAMES * 2:  # the second pass answers from the tags already judged
        row = row_of(filename=name, url=f"https://x.org/{name}", project=None)
        if row is not None and fitting([from_row(row, "https://x.org/")], target):
            assert fit(name), name
    assert not fit("foo-1.0-cp312-cp312-win_amd64.whl")
    assert fit("foo-1.0.tar.gz") and fit("README")


def test_a_cold_judged_project_stores_no_parsed_page(index_server: IndexServer, tmp_path: Path) -> None:
    a_world(index_server.dist_dir)
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path)) as client:
        cold = plan_with(client, ["zebra-lib"])
    assert not list((tmp_path / "pages").rglob("*.files"))
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path), offline=True) as client:
        assert pins(plan_with(client, ["zebra-lib"])) == pins(cold)


def test_a_page_that_lists_a_file_twice_gives_it_once(tmp_path: Path) -> None:
    """The first entry wins, as project() merges sources; the judged entry keeps one file."""
    name = "twice_x-1.0-py3-none-any.whl"
    entry = {"filename": name, "url": f"https://files.example/{name}", "hashes": {"sha256": "aa"}}
    second = {**entry, "hashes": {"sha256": "bb"}}
    body = json.dumps({"meta": {"api-version": "1.1"}, "files": [entry, second]}).encode()

    with (
        serving(lambda handler: send(handler, body, Content_Type=JSON_TYPE)) as (base, _),
        IndexClient([f"{base}/simple/"], cache=HttpCache(tmp_path), netrc_path=NO_NETRC) as client,
    ):
        kept = client.project_rows("twice-x", TagsFit(X86_312))
        assert [(row[1], row[3]) for row in kept.rows] == [(name, (("sha256", "aa"),))]
        assert [f.hashes for f in client.project("twice-x").files] == [(("sha256", "aa"),)]

