"""Every hostile input class ends in exit 1, 2 or 3 with an ERROR and a TIP, never a traceback.

Each test runs the real CLI in a subprocess (the installed `xbuild` script with this tree on
PYTHONPATH) against the loopback index, so exit codes, stderr and signals are what a user sees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from support.filesystems import full_dir, read_only_dir
from support.index_server import IndexServer
from support.packages import core_metadata, make_wheel

ROOT = Path(__file__).resolve().parent.parent
XBUILD = str(Path(sys.executable).with_name("xbuild"))
TARGET = ["--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12"]


def _env(tmp_path: Path, cache: Path | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XBUILD_CACHE_DIR": str(cache or tmp_path / "cache"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


def xbuild(
    *args: str, tmp_path: Path, cache: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [XBUILD, *args],
        env=_env(tmp_path, cache),
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def clean(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Assert the exit code, no traceback or internal error, a TIP after every ERROR; the stderr."""
    err = result.stderr
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}:\n{err[-3000:]}"
    assert "Traceback" not in err + result.stdout
    assert "internal error" not in err
    lines = err.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("ERROR"):
            assert any(later.lstrip().startswith("TIP") for later in lines[n + 1 :]), err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    make_wheel(index_server.dist_dir, "ok-pkg", "1.0", files={"ok_pkg/__init__.py": "X = 1\n"})
    return index_server


def plan(index: IndexServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return xbuild("plan", *args, "-i", index.index_url, *TARGET, tmp_path=tmp_path)


def bundle(
    index: IndexServer, tmp_path: Path, *args: str, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return xbuild("bundle", *args, "-i", index.index_url, *TARGET, tmp_path=tmp_path, cache=cache)


# --- hostile index answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("redirect-loop", "redirects too often"),
        ("deep-json", "nested too deeply"),
        ("huge-number", "digits"),
    ],
)
def test_unreadable_index_answers_exit_2(index: IndexServer, tmp_path: Path, kind: str, words: str) -> None:
    index.config.hostile_pages["odd-pkg"] = kind  # type: ignore[assignment]
    clean(plan(index, tmp_path, "odd-pkg"), 2, words)


def test_remote_file_link_is_refused(index: IndexServer, tmp_path: Path) -> None:
    local = make_wheel(tmp_path / "private [dir]", "stolen", "1.0")
    index.config.hostile_pages["stolen"] = "file-link"
    index.config.file_link = local.as_uri()
    clean(bundle(index, tmp_path, "stolen", "-o", str(tmp_path / "f.zip")), 1, "not an http(s) URL")
    assert not (tmp_path / "f.zip").exists()


def test_pep658_metadata_that_differs_from_the_wheel_is_refused(index: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index.dist_dir, "liar", "1.0", files={"liar.py": ""})
    index.config.metadata_override[wheel.name] = core_metadata("liar", "1.0", requires_dist=["ok-pkg"])
    result = bundle(index, tmp_path, "liar", "-o", str(tmp_path / "f.zip"))
    clean(result, 1, "only the index lists ['ok-pkg']")
    assert not (tmp_path / "f.zip").exists()


@pytest.mark.parametrize("command", ["plan", "bundle"])
def test_index_http_500_on_a_page_exits_3(index: IndexServer, tmp_path: Path, command: str) -> None:
    index.fail(index.page_path("ok-pkg"), times=100, status=500)
    run = plan if command == "plan" else bundle
    clean(run(index, tmp_path, "ok-pkg", "-o", str(tmp_path / "out.zip")), 3, "HTTP 500")


def test_index_http_500_on_a_download_exits_3_in_bundle(index: IndexServer, tmp_path: Path) -> None:
    index.fail(index.file_path("ok_pkg-1.0-py3-none-any.whl"), times=100, status=500)
    clean(bundle(index, tmp_path, "ok-pkg", "-o", str(tmp_path / "out.zip")), 3, "HTTP 500")


def test_sigint_prints_interrupted_and_exits_130(index: IndexServer, tmp_path: Path) -> None:
    index.config.hostile_pages["slow-pkg"] = "trickle"
    command = [XBUILD, "plan", "slow-pkg", "-i", index.index_url, *TARGET]
    process = subprocess.Popen(
        command, env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not index.requests(index.page_path("slow-pkg")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.count("interrupted") == 1, err
    assert "Traceback" not in err


# --- hostile arguments and project files -----------------------------------------------------


def test_malformed_index_url_exits_2(tmp_path: Path) -> None:
    result = xbuild("plan", "ok-pkg", "-i", "http://[::1", *TARGET, tmp_path=tmp_path)
    clean(result, 2, "invalid index or find-links URL")


def test_infinite_max_size_exits_2(index: IndexServer, tmp_path: Path) -> None:
    clean(bundle(index, tmp_path, "ok-pkg", "-o", str(tmp_path / "f.zip"), "--max-size", "infm"), 2)


def test_plan_output_onto_an_existing_directory_exits_2(index: IndexServer, tmp_path: Path) -> None:
    (tmp_path / "existing dir").mkdir()
    clean(plan(index, tmp_path, "ok-pkg", "-o", str(tmp_path / "existing dir")), 2, "is a directory")


def test_non_string_dependencies_exit_2(tmp_path: Path) -> None:
    project = tmp_path / "proj [x]"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = [1, 2]\n')
    result = xbuild("plan", "--project", str(project), *TARGET, tmp_path=tmp_path)
    clean(result, 2, "[project] dependencies: 1 is not a string")


def test_a_two_megabyte_requirement_line_exits_2(index: IndexServer, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("a" * 2_000_000 + "\n")
    result = plan(index, tmp_path, "-r", str(requirements))
    err = clean(result, 2)
    assert len(err) < 20_000  # the line is named, not echoed whole


def test_absurd_platform_version_exits_2(tmp_path: Path) -> None:
    result = xbuild("targets", "show", "manylinux_2_1000000_x86_64", tmp_path=tmp_path)
    clean(result, 2, "out of range")


# --- hostile outputs and disks -----------------------------------------------------------------


@pytest.mark.parametrize("out", [".", ".."])
def test_current_or_parent_directory_as_output_exits_2(index: IndexServer, tmp_path: Path, out: str) -> None:
    work = tmp_path / "work dir"
    (work / "src").mkdir(parents=True)
    (work / "src" / "app.py").write_text("mine\n")
    result = xbuild(
        "bundle", "ok-pkg", "-o", out, "-i", index.index_url, *TARGET, tmp_path=tmp_path, cwd=work
    )
    clean(result, 2, "current or parent directory")
    assert (work / "src" / "app.py").read_text() == "mine\n"


def test_dir_layout_refuses_a_users_directory(index: IndexServer, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("mine\n")
    (project / ".env").write_text("SECRET=1\n")
    clean(bundle(index, tmp_path, "ok-pkg", "--layout", "dir", "-o", str(project)), 1, "--force")
    assert (project / "src" / "app.py").read_text() == "mine\n" and (project / ".env").is_file()


def test_manifest_path_that_is_a_directory_leaves_the_zip_alone(index: IndexServer, tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    out.write_bytes(b"previous bundle")
    (tmp_path / "function.zip.manifest.json").mkdir()
    clean(bundle(index, tmp_path, "ok-pkg", "-o", str(out)), 2, "manifest")
    assert out.read_bytes() == b"previous bundle"


def test_read_only_output_directory_exits_2(index: IndexServer, tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "read-only") as folder:
        clean(bundle(index, tmp_path, "ok-pkg", "-o", str(folder / "f.zip")), 2)


def test_read_only_cache_exits_2(index: IndexServer, tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro-cache") as cache:
        result = bundle(index, tmp_path, "ok-pkg", "-o", str(tmp_path / "f.zip"), cache=cache)
    clean(result, 2)


def test_full_output_disk_exits_2(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "big-pkg", "1.0", files={"big_pkg/blob.bin": os.urandom(512 << 10)})
    with full_dir(tmp_path / "full") as folder:
        result = bundle(index_server, tmp_path, "big-pkg", "-o", str(folder / "f.zip"))
        assert list(folder.iterdir()) == []
    clean(result, 2, "no space left")


@pytest.mark.parametrize(
    "member",
    ["pkg/" + "n" * 300 + ".py", "pkg/" + "d/" * 2000 + "x.py"],
    ids=["name-300-chars", "path-2000-deep"],
)
def test_wheel_members_no_file_system_can_hold_are_refused(
    index_server: IndexServer, tmp_path: Path, member: str
) -> None:
    make_wheel(index_server.dist_dir, "odd-wheel", "1.0", files={member: "X = 1\n"})
    result = bundle(index_server, tmp_path, "odd-wheel", "-o", str(tmp_path / "f.zip"))
    clean(result, 1, "too long to install")
    assert not (tmp_path / "f.zip").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xbuild-bundle")] == []


def test_a_good_bundle_still_works(index: IndexServer, tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    clean(bundle(index, tmp_path, "ok-pkg", "-o", str(out)), 0)
    assert "ok_pkg/__init__.py" in zipfile.ZipFile(out).namelist()
