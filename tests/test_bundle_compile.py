"""`bundle --compile`: unchecked-hash bytecode made by exactly the target's Python X.Y.

The host tests use the interpreter xbuild runs on (3.11) for a 3.11 target; the container tests
hide the host's other interpreters (HOME points elsewhere) so the bullseye image (3.9) compiles.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.bundle.compile import (
    Compiler,
    CompileSettings,
    compile_tree,
    find_compiler,
    host_compiler,
    image_compiler,
    pyc_name,
)
from xbuild.bundle.install import Layout
from xbuild.bundle.make import BundleSettings, make_bundle
from xbuild.bundle.size import Limits
from xbuild.cli.main import main
from xbuild.config import parse_config
from xbuild.errors import EngineError, InputError, UsageError
from xbuild.host.discover import Discovery
from xbuild.host.probe import probe_interpreter
from xbuild.images import ImageFacts, ImagePython
from xbuild.target import Target, parse_target
from xbuild.verify import verify_installed

HOST = parse_target("debian-bookworm-x86_64", environ={})  # Python 3.11, as xbuild's own venv
BULLSEYE = parse_target("debian-bullseye-x86_64", environ={})  # Python 3.9
NOBODY_HAS = parse_target("x86_64-manylinux_2_17", python_version="3.15", environ={})
HANDLER = "import pure_lib, other\n\ndef handler(event, context):\n    return {'x': pure_lib.X}\n"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "wheels"
    return [
        make_wheel(
            folder,
            "pure-lib",
            "1.0",
            files={
                "pure_lib/__init__.py": "X = 'a' in {'a', 'b', 'c', 'd'}\n",  # a frozenset constant
                "pure_lib/sub [ü]/mod.py": "Y = '[/bold]'\n",
                "pure_lib/py2only.py": "print 'x'\n",  # no Python 3 compiles this
            },
        ),
        make_wheel(folder, "other", "2.0", files={"other.py": "Y = 2\n"}),
    ]


@pytest.fixture
def handler(tmp_path: Path) -> Path:
    folder = tmp_path / "my app [x] 'ü'"
    folder.mkdir()
    (folder / "handler.py").write_text(HANDLER)
    return folder / "handler.py"


def _settings(
    out: Path, *, layout: Layout = Layout.LAMBDA, includes: tuple[Path, ...] = ()
) -> BundleSettings:
    return BundleSettings(
        layout=layout,
        out=out,
        includes=includes,
        environ={},
        limits=Limits(zipped=None, unzipped=None),
        compile=CompileSettings(),
    )


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


def _unpack(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_host_python_writes_unchecked_hash_pycs_beside_every_source(
    wheels: list[Path], handler: Path, tmp_path: Path
) -> None:
    out = tmp_path / "function.zip"
    result = make_bundle(wheels, HOST, _settings(out, includes=(handler,)))
    names = _names(out)
    for name in ("pure_lib/__init__.py", "pure_lib/sub [ü]/mod.py", "other.py", "handler.py"):
        assert pyc_name(name, "cpython-311") in names
    assert "pure_lib/__pycache__/__init__.cpython-311.pyc" in names
    with zipfile.ZipFile(out) as zf:
        pyc = zf.read("pure_lib/__pycache__/__init__.cpython-311.pyc")
        source = zf.read("pure_lib/__init__.py")
        record = zf.read("pure_lib-1.0.dist-info/RECORD").decode()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH
    assert pyc[8:16] == importlib.util.source_hash(source)
    assert b".xbuild-bundle" not in pyc and str(tmp_path).encode() not in pyc  # no staging path
    # Listed as pip lists bytecode (no digest), so the verifier checks it like pip's installs.
    assert "pure_lib/__pycache__/__init__.cpython-311.pyc,,\n" in record
    assert result.compiled is not None and result.compiled.compiler.image is None
    manifest = json.loads(result.manifest.read_text())
    assert manifest["bytecode"]["python"] == "3.11"
    assert manifest["bytecode"]["not_compiled"] == ["pure_lib/py2only.py"]
    assert manifest["bytecode"]["compiled"] == 4
    report = verify_installed(out, HOST)
    assert report.ok
    assert not [f for f in report.findings if f.member and f.member.startswith(("pure_lib", "other"))]


def test_layer_layout_compiles_under_python(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    make_bundle(wheels, HOST, _settings(out, layout=Layout.LAMBDA_LAYER))
    names = _names(out)
    assert "python/pure_lib/__pycache__/__init__.cpython-311.pyc" in names
    assert "python/__pycache__/other.cpython-311.pyc" in names
    assert all(n.startswith("python/") for n in names)


def test_dir_layout_compiles_in_place(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "bundle dir [x]"
    make_bundle(wheels, HOST, _settings(out, layout=Layout.DIR))
    assert (out / "__pycache__" / "other.cpython-311.pyc").is_file()


def test_compiled_zip_is_byte_reproducible(wheels: list[Path], handler: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name / "function.zip"
        make_bundle(wheels, HOST, _settings(out, includes=(handler,)))
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_import_on_a_writable_copy_writes_no_bytecode(
    wheels: list[Path], handler: Path, tmp_path: Path
) -> None:
    out = tmp_path / "function.zip"
    make_bundle(wheels, HOST, _settings(out, includes=(handler,)))
    task = _unpack(out, tmp_path / "task")
    before = _files(task)
    code = (
        "import handler, importlib; importlib.import_module('pure_lib.sub [ü].mod'); "
        "print(handler.handler({}, None))"
    )
    run = subprocess.run(
        [sys.executable, "-v", "-c", code],
        cwd=task,
        env={"PYTHONPATH": str(task), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "{'x': True}"
    assert f"code object from '{task}/handler.cpython-311.pyc'" not in run.stderr  # named by __pycache__
    assert f"code object from '{task}/__pycache__/handler.cpython-311.pyc'" in run.stderr
    assert _files(task) == before


def test_refused_with_exit_3_when_no_interpreter_of_the_version_exists(
    wheels: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.pyenv, ~/.local/share/uv pythons
    out = tmp_path / "function.zip"
    with pytest.raises(EngineError) as caught:
        make_bundle(wheels, NOBODY_HAS, _settings(out))
    assert caught.value.exit_code == 3
    assert "CPython 3.15" in caught.value.message and "3.11" in caught.value.message
    assert "python3.15" in (caught.value.hint or "") and "--image" in (caught.value.hint or "")
    assert not out.exists()


def test_strip_pycache_contradicts_compile(wheels: list[Path], tmp_path: Path) -> None:
    settings = BundleSettings(
        layout=Layout.LAMBDA,
        out=tmp_path / "f.zip",
        environ={},
        strip=frozenset({"pycache"}),
        compile=CompileSettings(),
    )
    with pytest.raises(UsageError) as caught:
        make_bundle(wheels, HOST, settings)
    assert caught.value.exit_code == 2 and "--strip" in (caught.value.hint or "")


def _host_facts() -> Discovery:
    return Discovery(interpreters=(probe_interpreter(Path(sys.executable)),), skipped=())


def test_host_interpreter_of_another_minor_never_compiles() -> None:
    found = _host_facts().interpreters
    assert host_compiler(HOST, found) is not None
    for other in ("3.10", "3.12"):
        assert (
            host_compiler(parse_target("debian-bookworm-x86_64", python_version=other, environ={}), found)
            is None
        )
    free_threaded = parse_target("x86_64-manylinux_2_36", python_version="3.13t", environ={})
    assert host_compiler(free_threaded, found) is None


def test_image_interpreter_of_the_exact_version_or_a_reason() -> None:
    facts = ImageFacts(
        image="img", image_id="sha256:x", pythons=(ImagePython(version="3.9", path="/usr/bin/python3.9"),)
    )
    chosen = image_compiler(BULLSEYE, "img", facts, None)
    assert isinstance(chosen, Compiler) and chosen.interpreter == "/usr/bin/python3.9"
    assert chosen.cache_tag == "cpython-39"
    assert image_compiler(HOST, "img", facts, None) == "image img has no Python 3.11"
    assert "not on the engine" in str(
        image_compiler(BULLSEYE, "img", ImageFacts(image="img", image_id=None), None)
    )
    assert "cannot run here" in str(image_compiler(BULLSEYE, "img", None, None))
    assert "no build image" in str(image_compiler(BULLSEYE, None, None, None))


def test_the_host_wins_and_the_image_is_only_asked_when_it_has_none() -> None:
    asked: list[Target] = []

    def images(target: Target, settings: CompileSettings) -> tuple[str | None, ImageFacts | None, str | None]:
        asked.append(target)
        return None, None, None

    assert find_compiler(HOST, CompileSettings(), hosts=_host_facts, images=images).image is None
    assert asked == []
    with pytest.raises(EngineError):
        find_compiler(BULLSEYE, CompileSettings(), hosts=_host_facts, images=images)
    assert asked == [BULLSEYE]


def test_an_interpreter_of_another_version_refuses_to_compile(tmp_path: Path) -> None:
    """The script checks what runs it: a `python3.9` that is really 3.11 writes nothing."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "mod.py").write_text("X = 1\n")
    lying = Compiler(python="3.9", cache_tag="cpython-39", interpreter=sys.executable)
    with pytest.raises(EngineError) as caught:
        compile_tree(site, lying, work=tmp_path / "work", log_path=tmp_path / "log", timeout=60)
    assert caught.value.exit_code == 3
    assert "cpython-311, not cpython-39" in (tmp_path / "log").read_text()
    assert _files(site) == {"mod.py"}


def test_config_key(tmp_path: Path) -> None:
    assert parse_config({"bundle": {"compile": True}}, tmp_path).bundle.compile is True
    assert parse_config({}, tmp_path).bundle.compile is False
    with pytest.raises(InputError):
        parse_config({"bundle": {"compile": "yes"}}, tmp_path)


def test_cli_compile_flag(
    index_server: IndexServer, handler: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    make_wheel(index_server.dist_dir, "pure-lib", "1.0", files={"pure_lib/__init__.py": "X = 1\n"})
    out = tmp_path / "out [x]" / "function.zip"
    code = main(
        [
            "bundle",
            "pure-lib",
            "-i",
            index_server.index_url,
            "--python-platform",
            "debian-bookworm-x86_64",
            "--include",
            str(handler),
            "--compile",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert {"pure_lib/__pycache__/__init__.cpython-311.pyc", "__pycache__/handler.cpython-311.pyc"} <= set(
        _names(out)
    )


def test_cli_compile_with_strip_pycache_is_a_usage_error_before_any_request(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    make_wheel(index_server.dist_dir, "pure-lib", "1.0")
    out = tmp_path / "function.zip"
    argv = ["bundle", "pure-lib", "-i", index_server.index_url, "--python-platform", "debian-bookworm-x86_64"]
    assert main([*argv, "--compile", "--strip", "tests,pycache", "-o", str(out)]) == 2
    assert index_server.count() == 0 and not out.exists()


@pytest.mark.parametrize(("flag", "compiled"), [((), True), (("--no-compile",), False)])
def test_config_compile_true_and_its_override(
    index_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    compiled: bool,
) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    make_wheel(index_server.dist_dir, "pure-lib", "1.0", files={"pure_lib/__init__.py": "X = 1\n"})
    project = tmp_path / "proj [x]"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.xbuild.bundle]\ncompile = true\n")
    out = tmp_path / "function.zip"
    argv = ["bundle", "pure-lib", "--project", str(project), "-i", index_server.index_url]
    assert main([*argv, "--python-platform", "debian-bookworm-x86_64", *flag, "-o", str(out)]) == 0
    assert ("pure_lib/__pycache__/__init__.cpython-311.pyc" in _names(out)) is compiled


# --- in the target's image ---------------------------------------------------------------------


def _import_in(image: str, task: Path, code: str) -> str:
    import docker

    client = docker.from_env()
    try:
        output: bytes = client.containers.run(
            image,
            ["python3", "-c", code],
            working_dir="/var/task",
            network_mode="none",
            remove=True,
            user=f"{os.getuid()}:{os.getgid()}",  # the tree is writable for the importer
            environment={"PYTHONPATH": "/var/task"},
            volumes={str(task): {"bind": "/var/task", "mode": "rw"}},
        )
    finally:
        client.close()
    return output.decode()


@pytest.mark.container
def test_bullseye_target_compiles_in_its_image_and_imports_there_without_new_bytecode(
    amd64_image: str, wheels: list[Path], handler: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # hides ~/.pyenv's 3.9: the image must compile
    out = tmp_path / "function.zip"
    result = make_bundle(wheels, BULLSEYE, _settings(out, includes=(handler,)))
    assert result.compiled is not None and result.compiled.compiler.image == amd64_image
    names = _names(out)
    assert "pure_lib/__pycache__/__init__.cpython-39.pyc" in names
    assert "__pycache__/handler.cpython-39.pyc" in names
    assert not any("cpython-311" in n for n in names)
    with zipfile.ZipFile(out) as zf:
        pyc = zf.read("__pycache__/other.cpython-39.pyc")
    assert pyc[:4] == (3425).to_bytes(2, "little") + b"\r\n"  # CPython 3.9's magic number
    assert int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH
    task = _unpack(out, tmp_path / "task")
    for path in (task, *task.rglob("*")):
        path.chmod(0o777 if path.is_dir() else 0o666)
    before = _files(task)
    code = (
        "import sys, handler, importlib; importlib.import_module('pure_lib.sub [ü].mod'); "
        "assert sys.version_info[:2] == (3, 9); print(handler.handler({}, None))"
    )
    assert _import_in(amd64_image, task, code).strip() == "{'x': True}"
    assert _files(task) == before
    # The control: without the bundle's pycs the same import writes them, so the check above can fail.
    for compiled in task.rglob("*.pyc"):
        compiled.unlink()
    bare = _files(task)
    assert _import_in(amd64_image, task, code).strip() == "{'x': True}"
    assert "__pycache__/handler.cpython-39.pyc" in _files(task) - bare
    again = tmp_path / "again.zip"
    make_bundle(wheels, BULLSEYE, _settings(again, includes=(handler,)))
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.network
@pytest.mark.container
def test_example_lambda_app_compiled_in_its_image_imports_there_without_new_bytecode(
    amd64_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11's gate on the real example (markupsafe's C speedups, idna) from the real index."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    example = Path(__file__).resolve().parent.parent / "examples" / "lambda"
    out = tmp_path / "function.zip"
    argv = ["bundle", "-r", str(example / "requirements.txt"), "--include", str(example / "handler.py")]
    assert main([*argv, "--python-platform", "debian-bullseye-x86_64", "--compile", "-o", str(out)]) == 0
    names = _names(out)
    assert "__pycache__/handler.cpython-39.pyc" in names
    assert "markupsafe/__pycache__/__init__.cpython-39.pyc" in names
    assert "idna/__pycache__/core.cpython-39.pyc" in names
    task = _unpack(out, tmp_path / "task")
    for path in (task, *task.rglob("*")):
        path.chmod(0o777 if path.is_dir() else 0o666)
    before = _files(task)
    code = (
        "import json, handler; print(json.loads(handler.handler({'name': '<x>'}, None)['body'])['greeting'])"
    )
    assert _import_in(amd64_image, task, code).strip() == "hello &lt;x&gt;"
    assert _files(task) == before
