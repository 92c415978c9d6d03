"""Requirements files as pip documents them: the real tools' output, then hostile hand-written text."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from xbuild.errors import ExitCode, InputError, UsageError
from xbuild.plan.inputs import Inputs, UserRequirement, collect_inputs, logical_lines, split_line
from xbuild.plan.provider import marker_holds
from xbuild.target import parse_target

REAL = Path(__file__).parent / "fixtures" / "real"
LAMBDA_ARM = parse_target("aws-lambda-python3.12-arm64", environ={})
WINDOWS = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={})
HEX = "0123456789abcdef" * 4


def holds(req: UserRequirement, environment: dict[str, str]) -> bool:
    return marker_holds(req.requirement.marker, environment, req.for_extras)


def uv_lock_versions() -> dict[str, str]:
    data = tomllib.loads((REAL / "lambda-app" / "uv.lock").read_text(encoding="utf-8"))
    return {canonicalize_name(p["name"]): p["version"] for p in data["package"]}


def production_names() -> set[str]:
    """What uv exported for production (no dev groups, no extras): the pylock it wrote."""
    data = tomllib.loads((REAL / "pylock.toml").read_text(encoding="utf-8"))
    return {p["name"] for p in data["packages"]}


def read(name: str, environ: dict[str, str] | None = None) -> Inputs:
    return collect_inputs([], [REAL / name], environ=environ or {})


def pins(inputs: Inputs) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in inputs.requirements:
        (spec,) = r.requirement.specifier
        assert spec.operator == "==", r
        out[r.name] = spec.version
    return out


# A host-specific tool (pip-compile, pip freeze) resolves for the Linux host it ran on: the
# Windows-only tzdata is absent. Universal ones (uv, poetry) keep it behind its marker.
FILES = {
    "uv-export.txt": (False, True),
    "uv-export-hashes.txt": (True, True),
    "uv-pip-compile-hashes.txt": (True, True),
    "pip-compile-hashes.txt": (True, False),
    "poetry-export.txt": (False, True),
    "poetry-export-hashes.txt": (True, True),
    "pip-freeze.txt": (False, False),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_real_file_parses_to_the_locked_versions(name: str) -> None:
    hashed, universal = FILES[name]
    inputs = read(name)
    got = pins(inputs)
    expected = production_names() if universal else production_names() - {"tzdata"}
    assert set(got) == expected
    locked = uv_lock_versions()
    assert got == {n: locked[n] for n in got}
    assert inputs.require_hashes is hashed
    assert all(bool(r.hashes) is hashed for r in inputs.requirements)
    assert not inputs.constraints and inputs.index_url is None and not inputs.extra_index_urls


@pytest.mark.parametrize("name", [n for n, (hashed, _) in FILES.items() if hashed])
def test_every_hash_in_the_file_is_kept(name: str) -> None:
    text = (REAL / name).read_text(encoding="utf-8")
    inputs = read(name)
    assert sum(len(r.hashes) for r in inputs.requirements) == text.count("--hash=sha256:")
    assert all(h.startswith("sha256:") and len(h) == 71 for r in inputs.requirements for h in r.hashes)


@pytest.mark.parametrize("name", [n for n, (_, universal) in FILES.items() if universal])
def test_quoted_markers_survive_and_hold_for_the_target(name: str) -> None:
    by_name: dict[str, UserRequirement] = {r.name: r for r in read(name).requirements}
    env = LAMBDA_ARM.marker_environment()
    tzdata, uvloop = by_name["tzdata"], by_name["uvloop"]
    assert tzdata.requirement.marker is not None and "sys_platform" in str(tzdata.requirement.marker)
    assert not holds(tzdata, env)
    assert holds(tzdata, WINDOWS.marker_environment())
    assert holds(uvloop, env) and not holds(uvloop, WINDOWS.marker_environment())
    assert holds(by_name["psycopg-binary"], env)


def test_uv_export_keeps_single_quotes_in_markers() -> None:
    text = (REAL / "uv-export.txt").read_text(encoding="utf-8")
    assert "sys_platform == 'win32'" in text  # the shape that used to lose its quotes
    tzdata = next(r for r in read("uv-export.txt").requirements if r.name == "tzdata")
    assert str(tzdata.requirement.marker) == 'sys_platform == "win32"'
    assert tzdata.origin.endswith("uv-export.txt:" + str(_line_of(text, "tzdata==")))


def _line_of(text: str, prefix: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(prefix))


def test_pip_freeze_names_are_normalised() -> None:
    names = {r.requirement.name for r in read("pip-freeze.txt").requirements}
    assert {"PyYAML", "typing_extensions", "pydantic_core"} <= names
    assert {"pyyaml", "typing-extensions", "pydantic-core"} <= set(pins(read("pip-freeze.txt")))


# --- hostile text -------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_continuations_comments_and_hash_spellings(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", (
        "\ufeff# ünïcode comment ☃ with a trailing backslash is still a comment \\\n"
        "Pkg_A[Extra1, extra-2] == 1.0 ; python_version >= \"3.8\" and \\\n"
        f"    sys_platform != 'win32' --hash=sha256:{HEX} # why: \"quotes\" ' in a comment\n"
        f"b==2 --hash=sha256:{HEX} --hash sha256:{HEX[::-1]} \\\n"
        f"    --hash=sha512:{'ab' * 64}\r\n"
        "\n"
        "   \t\n"
        f"c==1 ; platform_machine == 'aarch64' or platform_machine == \"x86_64\" --hash=sha256:{HEX}\n"
    ))
    inputs = collect_inputs([], [reqs], environ={})
    a, b, c = inputs.requirements
    assert a.name == "pkg-a" and a.requirement.extras == {"Extra1", "extra-2"}
    assert str(a.requirement.specifier) == "==1.0" and a.hashes == (f"sha256:{HEX}",)
    assert str(a.requirement.marker) == 'python_version >= "3.8" and sys_platform != "win32"'
    assert a.origin == f"{reqs}:2"
    assert b.hashes == (f"sha256:{HEX}", f"sha256:{HEX[::-1]}", f"sha512:{'ab' * 64}")
    assert b.origin == f"{reqs}:4"
    assert holds(c, LAMBDA_ARM.marker_environment())


def test_pip_splits_requirement_from_options_at_the_first_dash_word() -> None:
    assert split_line('a ; python_version < "3" --hash=sha256:x') == (
        'a ; python_version < "3"', "--hash=sha256:x")
    assert split_line("-r 'my reqs.txt'") == ("", "-r 'my reqs.txt'")
    assert split_line("x-y-z>=1") == ("x-y-z>=1", "")


def test_env_vars_follow_pip(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", (
        "--index-url https://${XB_USER}:${XB_TOKEN_2}@example.invalid/simple\n"
        "--extra-index-url=https://$XB_USER@example.invalid/${lower}/simple\n"
        "a==${XB_VERSION}\n"
    ))
    env = {"XB_USER": "üser", "XB_TOKEN_2": "t0k", "XB_VERSION": "1.2", "lower": "nope"}
    inputs = collect_inputs([], [reqs], environ=env)
    assert inputs.index_url == "https://üser:t0k@example.invalid/simple"
    # Only ${UPPER_CASE}: `$NAME` and `${lower}` stay as written, as pip leaves them.
    assert inputs.extra_index_urls == ("https://$XB_USER@example.invalid/${lower}/simple",)
    assert str(inputs.requirements[0].requirement.specifier) == "==1.2"
    assert list(logical_lines("a==${UNSET}\n", {})) == [(1, "a==${UNSET}")]


def test_nesting_is_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "top.txt", '-r "sub dir/ünï [1].txt"\n-c sub\\ dir/cons.txt\ntop==1\n')
    write(tmp_path / "sub dir" / "ünï [1].txt", "-rdeeper/more.txt\nmid==1\n-r ../top.txt\n")
    write(tmp_path / "sub dir" / "deeper" / "more.txt", "--requirement=../cons.txt\ndeep==1\n")
    write(tmp_path / "sub dir" / "cons.txt", "# constraints\nconstrained<3\n")
    inputs = collect_inputs([], [Path("top.txt")], cwd=tmp_path, environ={})
    assert [r.name for r in inputs.requirements] == ["constrained", "deep", "mid", "top"]
    assert [c.name for c in inputs.constraints] == ["constrained"]


def test_file_options_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "wheels dir").mkdir()
    reqs = write(tmp_path / "req.txt", (
        "-i https://primary.invalid/simple\n"
        "--extra-index-url https://extra.invalid/simple --extra-index-url=https://two.invalid/simple\n"
        "-f 'wheels dir'\n--find-links=https://links.invalid/\n"
        "--no-index\n--pre\n--prefer-binary\n--trusted-host primary.invalid\n--require-hashes\n"
        "--only-binary :all:\n--no-binary Some_Pkg,other\n--only-binary other\n"
    ))
    inputs = collect_inputs([], [reqs], environ={})
    assert inputs.index_url == "https://primary.invalid/simple"
    assert inputs.extra_index_urls == ("https://extra.invalid/simple", "https://two.invalid/simple")
    assert inputs.find_links == (str(tmp_path / "wheels dir"), "https://links.invalid/")
    assert inputs.no_index and inputs.pre and inputs.prefer_binary and inputs.require_hashes
    # pip's mutual exclusion: a name given to one of the pair leaves the other.
    assert inputs.no_binary == {"some-pkg"} and inputs.only_binary == {":all:", "other"}


def test_only_binary_all_then_none_resets(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", "--no-binary a\n--only-binary :all:\n--only-binary :none:\n")
    inputs = collect_inputs([], [reqs], environ={})
    assert inputs.only_binary == frozenset() and inputs.no_binary == frozenset()


def test_direct_references_local_paths_and_editables(tmp_path: Path) -> None:
    project = tmp_path / "my proj ü"
    write(project / "pyproject.toml", '[project]\nname = "My.Proj"\nversion = "1"\n')
    wheel = write(tmp_path / "dïst" / "wheel_pkg-1.0-py3-none-any.whl", "not really a zip")
    sdist = write(tmp_path / "bare_sdist-3.0.tar.gz", "not really a tarball")
    reqs = write(tmp_path / "req.txt", (
        'remote @ https://example.invalid/remote-1.0.tar.gz ; sys_platform == "linux"\n'
        "https://example.invalid/archive.zip#egg=from_egg\n"
        "https://example.invalid/files/bare_name-2.0-py3-none-any.whl ; python_version >= '3.8'\n"
        '-e "./my proj ü"\n'
        "--editable=./my\\ proj\\ ü\n"
        "./dïst/wheel_pkg-1.0-py3-none-any.whl[fast];python_version>='3'\n"
        f"local @ {project.as_uri()}\n"
        "bare_sdist-3.0.tar.gz\n"
    ))
    r: dict[str, UserRequirement] = {u.name: u for u in collect_inputs([], [reqs], environ={}).requirements}
    assert r["remote"].requirement.url == "https://example.invalid/remote-1.0.tar.gz"
    assert str(r["remote"].requirement.marker) == 'sys_platform == "linux"'
    assert r["from-egg"].requirement.url == "https://example.invalid/archive.zip#egg=from_egg"
    assert str(r["bare-name"].requirement.marker) == 'python_version >= "3.8"'
    assert r["my-proj"].editable and r["my-proj"].local_path == project
    assert r["wheel-pkg"].local_path == wheel and r["wheel-pkg"].requirement.extras == {"fast"}
    assert r["wheel-pkg"].requirement.marker is not None
    assert r["local"].local_path == project
    assert r["bare-sdist"].local_path == sdist and r["bare-sdist"].requirement.url == sdist.as_uri()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("a==1 --global-option=x", "--global-option"),
        ("--config-settings a=b", "--config-settings"),
        ("a==1 --hash=md5:abc", "bad --hash"),
        (f"a==1 --hash=sha256:{HEX[:-1]}", "bad --hash"),
        ("-r", "needs a value"),
        ("-r does-not-exist.txt", "cannot read requirements file"),
        ("./missing-dir", "does not exist"),
        ("a[b", "invalid requirement"),
        ("-r https://example.invalid/req.txt", "remote requirements files"),
        ("https://example.invalid/no-name-here", "cannot tell the project name"),
        ("--index-url 'unterminated", "cannot parse options"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, line: str, words: str) -> None:
    reqs = write(tmp_path / "req ü.txt", f"# first\n{line}\n")
    with pytest.raises(InputError, match=words) as info:
        collect_inputs([], [reqs], environ={})
    assert info.value.exit_code is ExitCode.USAGE
    if "cannot read" not in words:
        assert f"{reqs}:2" in info.value.message


def test_hash_mode_wants_every_requirement_pinned_and_hashed(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", f"a==1 --hash=sha256:{HEX}\nb==2\nc>=1 --hash=sha256:{HEX}\n")
    with pytest.raises(InputError) as info:
        collect_inputs([], [reqs], environ={})
    assert "b==2 has no --hash" in info.value.message
    assert "c>=1 is not pinned with ==" in info.value.message
    assert "a==1" not in info.value.message


def test_hash_mode_accepts_local_projects_as_uv_export_writes_them(tmp_path: Path) -> None:
    write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "app"\nversion = "1"\n')
    reqs = write(tmp_path / "app" / "requirements.txt", f"-e .\na==1 \\\n    --hash=sha256:{HEX}\n")
    app, a = collect_inputs([], [reqs], environ={}).requirements
    assert app.editable and app.local_path == tmp_path / "app" and a.hashes


def test_require_hashes_option_alone_turns_hash_mode_on(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", "--require-hashes\na==1\n")
    with pytest.raises(InputError, match="a==1 has no --hash"):
        collect_inputs([], [reqs], environ={})


def test_constraints_need_no_hashes_in_hash_mode(tmp_path: Path) -> None:
    reqs = write(tmp_path / "req.txt", f"a==1 --hash=sha256:{HEX}\n-c cons.txt\n")
    write(tmp_path / "cons.txt", "b<2\n")
    inputs = collect_inputs([], [reqs], environ={})
    assert inputs.require_hashes and [c.name for c in inputs.constraints] == ["b"]


def test_project_extras_are_recorded_for_marker_evaluation(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", (
        '[project]\nname = "app"\nversion = "1"\n'
        "dependencies = ['pywin32; sys_platform == \"win32\"', 'plain']\n"
        "[project.optional-dependencies]\n"
        "Tracing = ['xray', 'only-with; extra == \"tracing\"', 'never; extra == \"other\"']\n"
        "[dependency-groups]\ndev = ['pytest']\n"
    ))
    inputs = collect_inputs(project=tmp_path, extras=["tracing"], environ={})
    env = LAMBDA_ARM.marker_environment()
    held = {r.name: holds(r, env) for r in inputs.requirements}
    assert held == {"pywin32": False, "plain": True, "xray": True, "only-with": True, "never": False}
    assert inputs.extras == ("tracing",)
    xray = next(r for r in inputs.requirements if r.name == "xray")
    assert xray.for_extras == {"tracing"} and xray.origin.endswith("[tracing]")
    with pytest.raises(UsageError, match="no extra 'nope'"):
        collect_inputs(project=tmp_path, extras=["nope"], environ={})


def test_command_line_requirement_keeps_marker() -> None:
    (req,) = collect_inputs(['pywin32; sys_platform == "win32"'], environ={}).requirements
    assert isinstance(req, UserRequirement)
    assert not holds(req, LAMBDA_ARM.marker_environment())


def test_a_project_name_that_is_not_pep508_is_an_input_error(tmp_path: Path) -> None:
    project = tmp_path / "démo app"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo-ünï"\nversion = "1"\n', encoding="utf-8")
    with pytest.raises(InputError, match="not a valid project name"):
        collect_inputs([str(project)])
