"""The `zip` check and the archive pass: damaged, hostile and oversized archives become findings."""

from __future__ import annotations

import builtins
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from verify_helpers import Raw, WheelSpec, binary, patch_central

from xbuild.binary import BinaryFormat, ElfInfo
from xbuild.errors import InputError
from xbuild.verify import Check, Limits, verify_wheel
from xbuild.verify.archive import read_archive
from xbuild.verify.model import WheelReport


def checks(report: WheelReport) -> set[str]:
    return {str(f.check) for f in report.errors}


def test_valid_wheel_has_no_zip_findings(tmp_path: Path) -> None:
    report = verify_wheel(WheelSpec().build(tmp_path), None)
    assert report.ok, report.findings


def test_random_bytes_named_whl(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(os.urandom(4096))
    report = verify_wheel(path, None)
    assert not report.ok
    assert checks(report) == {"zip"}
    assert "not a readable zip" in report.errors[0].message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(b"")
    assert checks(verify_wheel(path, None)) == {"zip"}


def test_truncated_archive(tmp_path: Path) -> None:
    path = WheelSpec().build(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "zip" in checks(verify_wheel(path, None))


def test_crc_mismatch_is_damage(tmp_path: Path) -> None:
    path = WheelSpec(compression=zipfile.ZIP_STORED).build(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"x = 1\n", b"x = 2\n", 1))
    report = verify_wheel(path, None)
    messages = [f.message for f in report.errors if f.check is Check.ZIP]
    assert any("damaged" in m and "CRC" in m for m in messages), report.findings


def test_encrypted_member(tmp_path: Path) -> None:
    spec = WheelSpec(unrecorded=(Raw("demo/secret.py", b"k = 1\n", flag_bits=0x1),))
    report = verify_wheel(spec.build(tmp_path), None)
    zips = [f for f in report.errors if f.check is Check.ZIP]
    assert [f.member for f in zips] == ["demo/secret.py"]
    assert "encrypted" in zips[0].message


def test_unsupported_compression_method(tmp_path: Path) -> None:
    path = WheelSpec().build(tmp_path)
    patch_central(path, "demo/__init__.py", method=93)
    report = verify_wheel(path, None)
    assert any(f.check is Check.ZIP and f.member == "demo/__init__.py" for f in report.errors)


def test_lying_file_size_is_not_trusted(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{"demo/big.txt": b"a" * 100_000})
    path = spec.build(tmp_path)
    patch_central(path, "demo/big.txt", file_size=10)  # claims 10 bytes, inflates to 100 kB
    archive = read_archive(path, Limits())
    member = next(m for m in archive.members if m.name == "demo/big.txt")
    assert not member.read
    assert any(f.member == "demo/big.txt" for f in archive.findings)


def test_zip_bomb_by_expansion_is_refused_before_decompressing(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{"demo/zeros.bin": bytes(4 << 20)})
    limits = Limits(expansion_floor=1 << 20)
    report = verify_wheel(spec.build(tmp_path), None, limits=limits)
    assert any("zip bomb" in f.message for f in report.errors if f.check is Check.ZIP)


def test_total_limit(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{"demo/a.bin": os.urandom(50_000), "demo/b.bin": os.urandom(50_000)})
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(max_total_bytes=60_000))
    assert any("limit" in f.message for f in report.errors if f.check is Check.ZIP)


def test_member_limit(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{"demo/a.bin": os.urandom(5_000)})
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(max_member_bytes=4_000))
    zips = [f for f in report.errors if f.check is Check.ZIP]
    assert [f.member for f in zips] == ["demo/a.bin"]
    assert "per-member limit" in zips[0].message


def test_member_count_limit(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{f"demo/m{i}.py": b"" for i in range(10)})
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(max_members=5))
    assert any("members" in f.message for f in report.errors if f.check is Check.ZIP)


def test_metadata_limit(tmp_path: Path) -> None:
    spec = WheelSpec(metadata_text="Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n" + "x" * 5000)
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(max_metadata_bytes=1000))
    assert any("metadata limit" in f.message for f in report.errors)


def test_binary_limit(tmp_path: Path) -> None:
    elf = binary("x86_64-linux-gnu.so")
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files={"demo/_x.so": elf})
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(max_binary_bytes=len(elf) - 1))
    assert any(f.member == "demo/_x.so" and "binary" in f.message for f in report.errors)


def test_binaries_are_found_by_magic_not_name(tmp_path: Path) -> None:
    spec = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        files={"demo/data.txt": binary("x86_64-linux-gnu.so"), "demo/lib.so": b"not a binary"},
    )
    archive = read_archive(spec.build(tmp_path), Limits())
    kinds = {m.name: m.binary for m in archive.members}
    assert kinds["demo/data.txt"] is BinaryFormat.ELF
    assert kinds["demo/lib.so"] is None
    parsed = next(m for m in archive.members if m.name == "demo/data.txt")
    assert isinstance(parsed.info, ElfInfo) and parsed.info.arch == "x86_64"


def test_small_chunks_still_sniff_and_hash(tmp_path: Path) -> None:
    elf = binary("x86_64-linux-gnu.so")
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files={"demo/_x.so": elf})
    report = verify_wheel(spec.build(tmp_path), None, limits=Limits(chunk_bytes=7))
    assert report.ok, report.findings


def test_directory_as_wheel_is_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "demo-1.0-py3-none-any.whl"
    folder.mkdir()
    with pytest.raises(InputError):
        verify_wheel(folder, None)


def test_verify_never_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        files={"../escape.py": b"x", "/abs.py": b"y", "demo/_x.so": binary("x86_64-linux-gnu.so")},
    )
    path = spec.build(tmp_path / "in")
    real_open = builtins.open

    def read_only(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        assert not set(mode) & set("wax+"), f"verify opened {file} for writing"
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    monkeypatch.setattr(io, "open", read_only)
    before = sorted(tmp_path.rglob("*"))
    report = verify_wheel(path, None)
    assert sorted(tmp_path.rglob("*")) == before
    assert not report.ok


def test_zip_member_order_does_not_matter(tmp_path: Path) -> None:
    # RECORD is read first whatever its position, so digests are computed in the same single pass.
    path = WheelSpec().build(tmp_path)
    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    reordered = tmp_path / "out" / path.name
    reordered.parent.mkdir()
    with zipfile.ZipFile(reordered, "w") as zf:
        for info, data in reversed(items):
            zf.writestr(info, data)
    assert verify_wheel(reordered, None).ok


def test_threads_read_the_same_archive(tmp_path: Path) -> None:
    files = {f"demo/blob{i}.bin": os.urandom(600_000) for i in range(10)}
    files["demo/_x.so"] = binary("x86_64-linux-gnu.so")
    path = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files=files).build(tmp_path)
    serial = read_archive(path, Limits())
    threaded = read_archive(path, Limits(), workers=3)
    assert threaded.members == serial.members and threaded.texts == serial.texts
    assert verify_wheel(path, None, jobs=3) == verify_wheel(path, None)


def test_damaged_record_is_reported_once(tmp_path: Path) -> None:
    path = WheelSpec().build(tmp_path)
    patch_central(path, "demo-1.0.dist-info/RECORD", crc=0)
    report = verify_wheel(path, None)
    zips = [f for f in report.errors if f.check is Check.ZIP]
    assert [f.member for f in zips] == ["demo-1.0.dist-info/RECORD"]


def test_encrypted_record_is_reported(tmp_path: Path) -> None:
    path = WheelSpec().build(tmp_path)
    patch_central(path, "demo-1.0.dist-info/RECORD", flags=1)
    zips = [f for f in verify_wheel(path, None).errors if f.check is Check.ZIP]
    assert [("encrypted" in f.message) for f in zips] == [True]
