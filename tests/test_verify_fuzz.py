"""Hostile input never escapes as an exception: random archives, members, names and bit flips."""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_helpers import Raw, WheelSpec, binary

from xbuild.target import parse_target
from xbuild.verify import Limits, WheelReport, archive, verify_installed, verify_wheel

TARGET = parse_target("x86_64-manylinux_2_28", python_version="3.12")
MAGICS = [
    b"\x7fELF\x02\x01\x01",
    b"\x7fELF\x01\x02\x01",
    b"MZ",
    b"\xca\xfe\xba\xbe",
    b"\xcf\xfa\xed\xfe",
    b"\xfe\xed\xfa\xce",
]
SMALL = Limits(max_total_bytes=1 << 22, max_member_bytes=1 << 21, max_binary_bytes=1 << 20)
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEED_WHEEL = WheelSpec(
    tags="cp312-cp312-manylinux_2_17_x86_64",
    files={
        "demo/__init__.py": b"",
        "demo/_x.cpython-312-x86_64-linux-gnu.so": binary("x86_64-linux-gnu.so"),
        "demo/_m.so": binary("universal2-macos.so"),
        "demo/_w.pyd": binary("x86_64-windows-gnu.dll"),
    },
)


def check(path: Path) -> WheelReport:
    report = verify_wheel(path, TARGET, limits=SMALL)
    assert report.ok == (not report.errors)
    return report


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes_as_wheel(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-1.0-py3-none-any.whl"
        path.write_bytes(data)
        assert not check(path).ok


@FAST
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_random_member_behind_a_binary_magic(magic: bytes, tail: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files={"demo/_x.so": magic + tail})
        check(spec.build(Path(tmp)))


@FAST
@given(st.binary(max_size=2048), st.binary(max_size=512))
def test_random_metadata_and_record(metadata: bytes, record: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = WheelSpec(
            metadata_text=metadata.decode("latin-1"),
            record_text=record.decode("latin-1"),
            wheel_text=metadata[::-1].decode("latin-1"),
        )
        check(spec.build(Path(tmp)))


@FAST
@given(st.lists(st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s), max_size=8))
def test_random_member_names(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = WheelSpec(
            unrecorded=tuple(
                Raw(n, b"x", mode=0o120777 if i % 3 == 0 else 0o100644) for i, n in enumerate(names)
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
            try:
                path = spec.build(Path(tmp))
            except UnicodeEncodeError:
                return  # zipfile cannot even write surrogate names
        check(path)


@FAST
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=16
    )
)
def test_bit_flips_in_a_real_wheel(flips: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = SEED_WHEEL.build(Path(tmp))
        data = bytearray(path.read_bytes())
        for offset, mask in flips:
            data[offset % len(data)] ^= mask
        path.write_bytes(bytes(data))
        check(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=6
    ),
    st.integers(min_value=0, max_value=1 << 16),
)
def test_pread_fast_path_reports_what_zipfile_alone_reports(flips: list[tuple[int, int]], cut: int) -> None:
    # Members are inflated with pread when they look plain; anything odd falls back to zipfile,
    # so a damaged wheel must get the very findings a zipfile-only read (Windows) gives.
    with tempfile.TemporaryDirectory() as tmp:
        path = SEED_WHEEL.build(Path(tmp))
        data = bytearray(path.read_bytes())
        for offset, mask in flips:
            data[offset % len(data)] ^= mask
        path.write_bytes(bytes(data[: len(data) - cut % 64]))
        fast = check(path)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(archive._Reader, "_inflate", lambda self, info: None)
            assert verify_wheel(path, TARGET, limits=SMALL) == fast


@FAST
@given(st.integers(min_value=0, max_value=40_000))
def test_truncated_real_binaries(cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        elf = binary("x86_64-linux-gnu.so")
        mac = binary("universal2-macos.so")
        spec = WheelSpec(
            tags="cp312-cp312-manylinux_2_17_x86_64",
            files={"demo/_x.so": elf[: cut % len(elf)], "demo/_m.so": mac[: cut % len(mac)]},
        )
        check(spec.build(Path(tmp)))


# Installed trees: the same wheels read as a Lambda zip, with every member under random prefixes
# (as layers nest them) and random RECORD rows.


@FAST
@given(
    st.sampled_from(["", "python/", "python/lib/python3.12/site-packages/", "python/lib/python3.9/"]),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), max_size=8),
    st.binary(max_size=512),
)
def test_installed_zip_never_raises(prefix: str, flips: list[tuple[int, int]], record: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = SEED_WHEEL.build(Path(tmp))
        out = Path(tmp) / "function.zip"
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.endswith("RECORD"):
                    data += record
                dst.writestr(prefix + info.filename, data)
        flipped = bytearray(out.read_bytes())
        for offset, mask in flips:
            flipped[offset % len(flipped)] ^= mask
        out.write_bytes(bytes(flipped))
        report = verify_installed(out, TARGET, limits=SMALL)
        assert report.ok == (not report.errors)
