"""The `record` check: every member listed once with a strong digest and size that match."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from verify_helpers import Raw, WheelSpec, digest

from xbuild.verify import Check, verify_wheel
from xbuild.verify.model import Finding
from xbuild.verify.record import parse_record

DIST = "demo-1.0.dist-info"
INIT = b"x = 1\n"


def record_findings(spec: WheelSpec, tmp_path: Path) -> list[Finding]:
    return [f for f in verify_wheel(spec.build(tmp_path), None).findings if f.check is Check.RECORD]


def with_meta(spec: WheelSpec, *lines: str) -> str:
    """A RECORD with `lines` plus correct rows for METADATA and WHEEL."""
    metadata = spec.metadata().encode()
    wheel = spec.wheel().encode()
    meta = [
        f"{DIST}/METADATA,sha256={digest(metadata)},{len(metadata)}",
        f"{DIST}/WHEEL,sha256={digest(wheel)},{len(wheel)}",
        f"{DIST}/RECORD,,",
    ]
    return "\n".join([*lines, *meta]) + "\n"


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512", "blake2b"])
def test_strong_digests_pass(tmp_path: Path, algorithm: str) -> None:
    assert record_findings(WheelSpec(algorithm=algorithm), tmp_path) == []


@pytest.mark.parametrize("algorithm", ["md5", "sha1"])
def test_weak_digests_are_refused(tmp_path: Path, algorithm: str) -> None:
    found = record_findings(WheelSpec(algorithm=algorithm), tmp_path)
    assert found and all(algorithm in f.message for f in found)
    assert {f.member for f in found} >= {"demo/__init__.py"}


def test_missing_record(tmp_path: Path) -> None:
    spec = WheelSpec()
    path = spec.build(tmp_path)
    out = tmp_path / "out" / path.name
    out.parent.mkdir()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("/RECORD"):
                dst.writestr(info, src.read(info))
    found = [f for f in verify_wheel(out, None).errors if f.check is Check.RECORD]
    assert [f.member for f in found] == [f"{DIST}/RECORD"]
    assert "missing" in found[0].message


def test_unlisted_member(tmp_path: Path) -> None:
    found = record_findings(WheelSpec(unrecorded=(Raw("demo/extra.py", b"y = 2\n"),)), tmp_path)
    assert [(f.member, "not listed" in f.message) for f in found] == [("demo/extra.py", True)]


def test_listed_but_missing(tmp_path: Path) -> None:
    spec = WheelSpec()
    text = with_meta(spec, f"demo/__init__.py,sha256={digest(INIT)},{len(INIT)}", "demo/gone.py,sha256=abc,3")
    found = record_findings(WheelSpec(record_text=text), tmp_path)
    assert [f.member for f in found] == ["demo/gone.py"]
    assert "missing from the archive" in found[0].message


def test_digest_mismatch(tmp_path: Path) -> None:
    spec = WheelSpec()
    text = with_meta(spec, f"demo/__init__.py,sha256={digest(b'other')},{len(INIT)}")
    found = record_findings(WheelSpec(record_text=text), tmp_path)
    assert [f.member for f in found] == ["demo/__init__.py"]
    assert "modified after" in found[0].message


def test_size_mismatch(tmp_path: Path) -> None:
    spec = WheelSpec()
    text = with_meta(spec, f"demo/__init__.py,sha256={digest(INIT)},{len(INIT) + 1}")
    found = record_findings(WheelSpec(record_text=text), tmp_path)
    assert [f.member for f in found] == ["demo/__init__.py"]
    assert "RECORD says" in found[0].message


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("demo/__init__.py,,", "without a digest"),
        (f"demo/__init__.py,sha256={digest(INIT)},", "without a size"),
        (f"demo/__init__.py,whirlpool={digest(INIT)},6", "unknown digest"),
        ("demo/__init__.py,sha256=x", "fields instead of 3"),
        ("demo/__init__.py,sha256=x,six", "not a number"),
    ],
)
def test_malformed_rows(tmp_path: Path, row: str, words: str) -> None:
    text = with_meta(WheelSpec(), row)
    found = record_findings(WheelSpec(record_text=text), tmp_path)
    assert any(words in f.message for f in found), found


def test_duplicate_rows(tmp_path: Path) -> None:
    good = f"demo/__init__.py,sha256={digest(INIT)},{len(INIT)}"
    found = record_findings(WheelSpec(record_text=with_meta(WheelSpec(), good, good)), tmp_path)
    assert [("listed 2 times" in f.message) for f in found] == [True]


def test_signatures_need_no_digest(tmp_path: Path) -> None:
    spec = WheelSpec(unrecorded=(Raw(f"{DIST}/RECORD.jws", b"{}"), Raw(f"{DIST}/RECORD.p7s", b"sig")))
    assert record_findings(spec, tmp_path) == []


def test_parse_record_rejects_non_utf8() -> None:
    parsed = parse_record(b"demo/\xff.py,sha256=x,1\n")
    assert parsed.rows == () and "not UTF-8" in parsed.problems[0]


def test_parse_record_tolerates_padding_and_case() -> None:
    parsed = parse_record(b"a.py,SHA256=abc==,3\n")
    assert parsed.rows[0].algorithm == "sha256" and parsed.rows[0].digest == "abc"
