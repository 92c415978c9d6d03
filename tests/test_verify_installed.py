"""Installed trees (Lambda function and layer zips, `pip install --target` directories) built from
the repo's example wheels: unzipping a wheel is what an installer does for a wheel without .data."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_verify_linkage import elf
from verify_helpers import WheelSpec, binary

from xbuild.binary import BinaryFormat
from xbuild.bundle.install import Layout
from xbuild.bundle.make import BundleSettings, make_bundle
from xbuild.cli.main import main
from xbuild.errors import InputError
from xbuild.target import parse_target
from xbuild.verify import Check, Kind, Limits, Severity, WheelReport, collect, verify_installed, verify_paths
from xbuild.verify.contents import Archive, Member
from xbuild.verify.installed import evaluate_installed, find_distributions
from xbuild.verify.record import installed_name
from xbuild.verify.tree import read_tree

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "wheels"
DEMO = EXAMPLES / "good" / "xbuild_demo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl"
PURE = EXAMPLES / "good" / "xbuild_pure-1.0.0-py3-none-any.whl"
NATIVE = "xbuild_demo/_native.cpython-312-x86_64-linux-gnu.so"
TARGET = parse_target("aws-lambda-python3.12-x86_64")
LAYER_SITE = "python/lib/python3.12/site-packages/"
HANDLER = "hand ler [v2] ünï.py"


def install(tree: Path, root: str = "", wheels: tuple[Path, ...] = (DEMO, PURE)) -> Path:
    """Unpack wheels under `tree/root`, as pip or installer would for wheels without .data."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tree / root)
    return tree


def zip_tree(tree: Path, out: Path) -> Path:
    """`cd tree && zip -r out .` as shutil does it: directory entries included, links followed."""
    made = shutil.make_archive(str(out.with_suffix("")), "zip", root_dir=tree)
    return Path(made).rename(out)


# Each test runs on the tree as a directory and as the zip a user would upload: same verdicts.
Form = Callable[[Path], Path]


@pytest.fixture(params=["dir", "zip"])
def form(request: pytest.FixtureRequest, tmp_path: Path) -> Form:
    if request.param == "dir":
        return lambda tree: tree
    return lambda tree: zip_tree(tree, tmp_path / "bündle [1] x.zip")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return tmp_path / "site [ü] x"


def summary(report: WheelReport) -> list[tuple[str, str, str]]:
    return [(str(f.severity), str(f.check), f.member) for f in report.findings]


@pytest.mark.parametrize("root", ["", "python/", LAYER_SITE])
def test_clean_trees_pass_at_every_lambda_root(tree: Path, form: Form, root: str) -> None:
    report = verify_installed(form(install(tree, root)), TARGET)
    assert report.ok and report.findings == ()
    assert report.kind is Kind.INSTALLED
    assert report.distributions == ("xbuild_demo 1.0.0", "xbuild_pure 1.0.0")


def test_handler_code_is_a_warning_not_an_error(tree: Path, form: Form) -> None:
    install(tree)
    (tree / HANDLER).write_text("def handler(event, context):\n    return 1\n")
    (tree / "my app").mkdir()
    for name in ("__init__.py", "views [a].py"):
        (tree / "my app" / name).write_text("x = 1\n")
    report = verify_installed(form(tree), TARGET)
    assert report.ok
    assert summary(report) == [("warning", "record", HANDLER), ("warning", "record", "my app/")]
    assert "holds 2 files" in report.findings[1].message


def test_foreign_arch_extension_is_refused_naming_the_file(tree: Path, form: Form) -> None:
    install(tree)
    (tree / NATIVE).write_bytes(binary("aarch64-linux-gnu.2.17.so"))
    report = verify_installed(form(tree), TARGET)
    assert not report.ok
    assert ("error", "arch", NATIVE) in summary(report)
    assert ("error", "record", NATIVE) in summary(report)  # changed after install


def test_text_named_as_extension_module_is_binary_format(tree: Path, form: Form) -> None:
    install(tree)
    fake = "handler pkg/x.cpython-312-x86_64-linux-gnu.so"
    (tree / fake).parent.mkdir()
    (tree / fake).write_text("not really a binary\n")
    report = verify_installed(form(tree), TARGET)
    assert ("error", "binary-format", fake) in summary(report)
    assert "is not an ELF (Linux) binary" in next(f.message for f in report.errors)


@pytest.mark.parametrize("name", ["libfoo.so", "_x.pyd", "libbar.dylib"])
def test_every_extension_like_name_must_be_a_binary(tree: Path, name: str) -> None:
    install(tree)
    (tree / name).write_bytes(b"")
    assert ("error", "binary-format", name) in summary(verify_installed(tree, TARGET))


def test_removed_file_is_a_warning_and_bytecode_is_ignored(tree: Path, form: Form) -> None:
    install(tree)
    record = tree / "xbuild_pure-1.0.0.dist-info" / "RECORD"
    # pip lists the bytecode it compiled without digests; bundles strip it.
    record.write_text(record.read_text() + "xbuild_pure/__pycache__/__init__.cpython-312.pyc,,\n")
    (tree / "xbuild_demo" / "__init__.py").unlink()
    report = verify_installed(form(tree), TARGET)
    assert report.ok
    assert summary(report) == [("warning", "record", "xbuild_demo/__init__.py")]


def test_missing_record_is_an_error(tree: Path, form: Form) -> None:
    install(tree)
    (tree / "xbuild_pure-1.0.0.dist-info" / "RECORD").unlink()
    report = verify_installed(form(tree), TARGET)
    assert ("error", "record", "xbuild_pure-1.0.0.dist-info/RECORD") in summary(report)
    # its files are then claimed by no RECORD
    assert ("warning", "record", "xbuild_pure/") in summary(report)


def test_wheel_tags_of_each_distribution_hold_for_the_target(tree: Path, form: Form) -> None:
    report = verify_installed(form(install(tree)), parse_target("aws-lambda-python3.12-arm64"))
    assert ("error", "tags", "xbuild_demo-1.0.0.dist-info/WHEEL") in summary(report)
    assert ("error", "arch", NATIVE) in summary(report)
    assert not any(f.member.startswith("xbuild_pure") for f in report.errors)


def test_layer_for_another_python_is_a_warning(tree: Path) -> None:
    install(tree, "python/lib/python3.11/site-packages/", wheels=(PURE,))
    report = verify_installed(tree, TARGET)
    assert summary(report) == [("warning", "path", "python/lib/python3.11/site-packages/")]


def test_bad_wheel_in_a_tree_is_refused(tree: Path) -> None:
    install(tree, wheels=(EXAMPLES / "bad" / "glibc_too_new-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl",))
    report = verify_installed(tree, None)  # its own WHEEL tags are enough to refuse it
    assert {f.check for f in report.errors} == {Check.SYMBOL_VERSIONS}


def test_symlinks_are_refused_and_never_followed(tree: Path, tmp_path: Path) -> None:
    install(tree)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.so").write_text("x")
    os.symlink(outside, tree / "linked dir")
    os.symlink(outside / "secret.so", tree / "link.so")
    report = verify_installed(tree, TARGET)
    assert {(f.check, f.member) for f in report.errors} == {
        (Check.PATH, "link.so"),
        (Check.PATH, "linked dir"),
    }


def test_a_zip_that_is_not_a_wheel_is_never_judged_as_one(tree: Path, tmp_path: Path) -> None:
    function = zip_tree(install(tree), tmp_path / "function.zip")
    [report] = verify_paths([function], TARGET)
    assert report.kind is Kind.INSTALLED and report.ok and report.findings == ()
    not_zip = tmp_path / "function [2].zip"
    not_zip.write_text("hello")
    [broken] = verify_paths([not_zip], TARGET)
    assert [(f.check, f.severity) for f in broken.findings] == [(Check.ZIP, Severity.ERROR)]
    assert "Lambda" in broken.findings[0].message


def test_collect_tells_wheels_from_installed_trees(tmp_path: Path) -> None:
    layer = install(tmp_path / "layer", LAYER_SITE)
    function = install(tmp_path / "fn")
    wheels = tmp_path / "dist"
    wheels.mkdir()
    shutil.copy(DEMO, wheels)
    whl = WheelSpec().build(tmp_path / "one")
    other = zip_tree(function, tmp_path / "fn.zip")
    assert collect([layer, function, wheels, whl, other]) == [
        (layer, Kind.INSTALLED),
        (function, Kind.INSTALLED),
        (wheels / DEMO.name, Kind.WHEEL),
        (whl, Kind.WHEEL),
        (other, Kind.INSTALLED),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no installed distributions"):
        collect([tmp_path / "empty"])


def test_distributions_read_metadata_and_wheel_tags(tree: Path) -> None:
    archive = read_tree(install(tree, "python/"), Limits())
    [demo, pure] = find_distributions({m.name: m for m in archive.members}, archive.texts, archive.roots)
    assert (demo.dist_info, demo.root, demo.label) == (
        "python/xbuild_demo-1.0.0.dist-info",
        "python/",
        "xbuild_demo 1.0.0",
    )
    assert demo.name is not None and demo.name.tag_strings == ("cp312-cp312-manylinux_2_17_x86_64",)
    assert pure.name is not None and pure.name.tag_strings == ("py3-none-any",)


@pytest.mark.parametrize(
    ("root", "path", "expected"),
    [
        ("", "pkg/a.py", ("pkg/a.py", False)),
        ("python/", "pkg/./a.py", ("python/pkg/a.py", False)),
        ("", "../../bin/normalizer", ("bin/normalizer", True)),  # pip --target
        ("python/", "../bin/x", ("python/bin/x", True)),  # installer, xbuild bundle
        ("", "/usr/bin/x", None),
        ("", "C:/x", None),
        ("", "..", None),
    ],
)
def test_installed_name(root: str, path: str, expected: tuple[str, bool] | None) -> None:
    assert installed_name(root, path) == expected


def test_parallel_read_gives_the_same_report(tree: Path) -> None:
    install(tree)
    (tree / NATIVE).write_bytes(binary("aarch64-linux-gnu.2.17.so"))
    assert verify_installed(tree, TARGET, jobs=4) == verify_installed(tree, TARGET, jobs=1)


@pytest.mark.parametrize("layout", list(Layout))
def test_what_xbuild_bundle_makes_passes(tmp_path: Path, layout: Layout) -> None:
    handler = tmp_path / HANDLER
    handler.write_text("def handler(event, context):\n    return 1\n")
    out = tmp_path / ("out [ü]" if layout is Layout.DIR else "out [ü].zip")
    make_bundle([DEMO, PURE], TARGET, BundleSettings(layout=layout, out=out, includes=(handler,)))
    report = verify_installed(out, TARGET)
    assert report.ok and report.distributions == ("xbuild_demo 1.0.0", "xbuild_pure 1.0.0")
    prefix = "python/" if layout is Layout.LAMBDA_LAYER else ""
    assert summary(report) == [("warning", "record", prefix + HANDLER)]


def test_hostile_file_names_in_a_directory(tree: Path) -> None:
    install(tree)
    (tree / 'quote\'s "x" [1].py').write_text("x = 1\n")
    with open(os.path.join(os.fsencode(tree), b"bad\xffname.py"), "wb") as raw:
        raw.write(b"x = 1\n")
    report = verify_installed(tree, TARGET)
    assert [(f.check, f.member) for f in report.errors] == [(Check.PATH, "bad\ufffdname.py")]
    assert {f.member for f in report.warnings} == {"bad\ufffdname.py", 'quote\'s "x" [1].py'}


def test_bundle_zip_with_a_foreign_extension_swapped_in_exits_1_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "function [ü].zip"
    make_bundle([DEMO, PURE], TARGET, BundleSettings(layout=Layout.LAMBDA, out=out))
    assert main(["verify", str(out), "--python-platform", TARGET.spec]) == 0
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(swapped, "w") as dst:
        for info in src.infolist():
            foreign = info.filename == NATIVE
            dst.writestr(info, binary("aarch64-linux-gnu.2.17.so") if foreign else src.read(info))
    report = verify_installed(swapped, TARGET)
    assert ("error", "arch", NATIVE) in summary(report)
    assert main(["verify", str(swapped), "--python-platform", TARGET.spec]) == 1


def elf_member(name: str, **fields: object) -> Member:
    return Member(
        name=name,
        declared_size=1,
        mode=0o100644,
        is_dir=False,
        encrypted=False,
        read=True,
        binary=BinaryFormat.ELF,
        info=elf(**fields),
    )


@pytest.mark.parametrize(
    ("library", "found"),
    [
        ("lib/libpq.so.5", True),  # a layer's lib/: /opt/lib
        ("libpq.so.5", True),  # a function's top: /var/task
        ("python/vendored/libpq.so.5", False),  # no RPATH leads there
    ],
)
def test_libraries_on_lambdas_library_path_are_reachable(library: str, found: bool) -> None:
    members = (
        elf_member("python/pg/_pg.cpython-312-x86_64-linux-gnu.so", needed=("libpq.so.5", "libc.so.6")),
        elf_member(library, soname="libpq.so.5"),
    )
    archive = Archive(path=Path("layer.zip"), members=members, roots=("python/",))
    findings, _ = evaluate_installed(archive, TARGET)
    unreachable = [f for f in findings if f.check is Check.EXTERNAL_LIBS and "will not find it" in f.message]
    assert bool(unreachable) is not found


def test_bytecode_of_unlisted_code_counts_with_its_source() -> None:
    from xbuild.verify.installed import unclaimed

    names = [
        "handler.py",
        "__pycache__/handler.cpython-312.pyc",
        "app/x.py",
        "app/__pycache__/x.cpython-312.pyc",
    ]
    found = [(f.member, f.message.split(" ", 1)[0]) for f in unclaimed(sorted(names), ("",))]
    assert [m for m, _ in found] == ["app/", "handler.py"]
