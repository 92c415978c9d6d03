"""`symbol-versions` and `external-libs`: what binaries need from the system, and what they vendor."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary, patch_bytes

from xbuild.binary import ElfInfo, PeInfo, VersionNeed, parse_elf
from xbuild.binary.reference import elf_with_pyelftools
from xbuild.target import Libc, parse_target
from xbuild.verify import Check, Severity, verify_wheel
from xbuild.verify.elfload import Unreachable, unreachable_vendored
from xbuild.verify.linkage import (
    GlibcRule,
    Installed,
    check_blacklisted_symbols,
    check_elf_libs,
    check_pe_libs,
    check_symbol_versions,
    windows_system_dlls,
)
from xbuild.verify.model import WheelReport
from xbuild.verify.policy import load_policies

ELF = binary("x86_64-linux-gnu.so")  # NEEDED libm.so.6 libc.so.6, RUNPATH $ORIGIN/../xb.libs:$ORIGIN
PROGRAM = binary("x86_64-linux-gnu-program")  # needs GLIBC_2.34
PE = binary("x86_64-windows-gnu.dll")  # imports KERNEL32.dll and api-ms-win-crt-*
PPC = binary("ppc-macos-synthetic.dylib")  # loads @rpath/libweak.dylib, rpath @loader_path/../Frameworks


def wheel(tmp_path: Path, platform: str, files: dict[str, bytes], abi: str = "cp312") -> Path:
    return WheelSpec(tags=f"cp312-{abi}-{platform}", files={"demo/__init__.py": b"", **files}).build(tmp_path)


def verify(path: Path, target: str | None = None) -> WheelReport:
    return verify_wheel(path, parse_target(target, python_version="3.12") if target else None)


def messages(report: WheelReport, check: Check, severity: Severity = Severity.ERROR) -> list[str]:
    return [f.message for f in report.findings if f.check is check and f.severity is severity]


def elf(**fields: object) -> ElfInfo:
    base: dict[str, object] = {
        "elf_class": 64,
        "endian": "little",
        "osabi": 0,
        "machine": 62,
        "arch": "x86_64",
        "e_type": 3,
        "flags": 0,
        "interpreter": None,
        "needed": ("libc.so.6",),
        "soname": None,
        "rpath": (),
        "runpath": (),
        "version_requirements": (),
        "undefined_symbols": (),
        "weak_symbols": (),
        "is_static": False,
    }
    return ElfInfo(**{**base, **fields})  # type: ignore[arg-type]


# symbol-versions


def test_glibc_too_new_for_the_tag(tmp_path: Path) -> None:
    report = verify(wheel(tmp_path, "manylinux2010_x86_64", {"demo/_x.so": ELF}))
    found = messages(report, Check.SYMBOL_VERSIONS)
    assert len(found) == 1 and "GLIBC_2.14" in found[0] and "manylinux2010_x86_64" in found[0]


def test_glibc_too_new_for_the_target(tmp_path: Path) -> None:
    report = verify(wheel(tmp_path, "linux_x86_64", {"demo/prog": PROGRAM}), "x86_64-manylinux_2_28")
    found = messages(report, Check.SYMBOL_VERSIONS)
    assert len(found) == 1 and "GLIBC_2.34" in found[0] and "target" in found[0]


def test_program_passes_where_glibc_is_new_enough(tmp_path: Path) -> None:
    assert verify(
        wheel(tmp_path, "manylinux_2_34_x86_64", {"demo/prog": PROGRAM}), "x86_64-manylinux_2_36"
    ).ok


def test_glibc_version_between_known_policies() -> None:
    # auditwheel has no manylinux_2_30 policy; GLIBC_2.30 still fits a 2.30 rule by definition.
    nearest = load_policies().nearest(Libc.GLIBC, (2, 30), "x86_64")
    assert nearest is not None and nearest.version == (2, 28)
    rule = GlibcRule("the tag manylinux_2_30_x86_64", (2, 30), nearest)
    need = (VersionNeed(file="libc.so.6", versions=("GLIBC_2.30", "GLIBC_2.2.5")),)
    assert check_symbol_versions("m", elf(version_requirements=need), [rule]) == []
    too_new = (VersionNeed(file="libc.so.6", versions=("GLIBC_2.31",)),)
    assert check_symbol_versions("m", elf(version_requirements=too_new), [rule])


def test_cxx_versions_come_from_the_policy() -> None:
    policy = load_policies().for_tag("manylinux2014_x86_64")
    rule = GlibcRule("the tag manylinux2014_x86_64", (2, 17), policy)
    ok = (VersionNeed(file="libstdc++.so.6", versions=("GLIBCXX_3.4.19", "CXXABI_1.3.7")),)
    assert check_symbol_versions("m", elf(version_requirements=ok), [rule]) == []
    bad = (VersionNeed(file="libstdc++.so.6", versions=("GLIBCXX_3.4.21", "CXXABI_1.3.9", "GLIBC_PRIVATE")),)
    found = check_symbol_versions("m", elf(version_requirements=bad), [rule])
    assert len(found) == 1
    assert all(v in found[0].message for v in ("GLIBCXX_3.4.21", "CXXABI_1.3.9", "GLIBC_PRIVATE"))


def test_loader_version_needs_are_ignored() -> None:
    rule = GlibcRule("t", (2, 17), load_policies().for_tag("manylinux2014_x86_64"))
    needs = (VersionNeed(file="ld-linux-x86-64.so.2", versions=("GLIBC_2.99",)),)
    assert check_symbol_versions("m", elf(version_requirements=needs), [rule]) == []


# blacklisted-symbols

# zlib internals that auditwheel's manylinux and musllinux policies blacklist for libz.so.1.
ZLIB_INTERNAL = "zcalloc"
# The C of an extension module calling it; `weak` declares the reference STB_WEAK and tests it.
EXTENSION_C = """
extern void *zcalloc(void *opaque, unsigned items, unsigned size){weak};
void *demo_alloc(void) {{ return {call}; }}
"""
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


def compile_against_zlib(tmp_path: Path, *, weak: bool) -> bytes:
    """An x86_64 .so that needs libz.so.1 and imports zcalloc, linked against a stub libz."""
    build = tmp_path / "build [x] 'ü'"
    build.mkdir(exist_ok=True)
    (build / "z.c").write_text("void *zcalloc(void *o, unsigned i, unsigned s) { return 0; }\n")
    stub = build / "libz.so.1"
    # No libc (so the same file fits glibc and musl wheels), and libz kept even for a weak reference.
    gcc = ["gcc", "-shared", "-fPIC", "-nostdlib", "-Wl,--no-as-needed"]
    subprocess.run([*gcc, "-Wl,-soname,libz.so.1", "-o", str(stub), str(build / "z.c")], check=True)
    call = "zcalloc ? zcalloc(0, 1, 1) : 0" if weak else "zcalloc(0, 1, 1)"
    source = EXTENSION_C.format(weak=" __attribute__((weak))" if weak else "", call=call)
    (build / "ext.c").write_text(source)
    out = build / f"ext-{weak}.so"
    subprocess.run([*gcc, "-o", str(out), str(build / "ext.c"), str(stub)], check=True)
    return out.read_bytes()


def test_blacklist_needs_a_strong_import() -> None:
    policy = load_policies().for_tag("manylinux_2_28_x86_64")
    assert policy is not None and ZLIB_INTERNAL in policy.blacklisted_symbols("libz.so.1")
    strong = elf(needed=("libz.so.1", "libc.so.6"), undefined_symbols=("inflate", ZLIB_INTERNAL))
    found = check_blacklisted_symbols("m", strong, [policy], ())
    assert len(found) == 1 and "zcalloc from libz.so.1" in found[0].message
    assert "manylinux_2_28_x86_64" in found[0].message and "weakly" in found[0].message
    weak = replace(strong, weak_symbols=(ZLIB_INTERNAL,))
    assert check_blacklisted_symbols("m", weak, [policy], ()) == []
    # Not a DT_NEEDED of this binary, or shipped in the wheel: the system's libz does not answer.
    assert check_blacklisted_symbols("m", elf(undefined_symbols=(ZLIB_INTERNAL,)), [policy], ()) == []
    assert check_blacklisted_symbols("m", strong, [policy], ("libz.so.1",)) == []


def test_libc_blacklist_applies_to_old_policies_only() -> None:
    strong = elf(undefined_symbols=("__cxa_thread_atexit_impl",))
    old, new = (load_policies().for_tag(t) for t in ("manylinux2014_x86_64", "manylinux_2_28_x86_64"))
    assert old is not None and new is not None
    assert check_blacklisted_symbols("m", strong, [old], ())
    assert check_blacklisted_symbols("m", strong, [new], ()) == []


@needs_gcc
def test_compiled_strong_reference_is_refused(tmp_path: Path) -> None:
    so = compile_against_zlib(tmp_path, weak=False)
    info = parse_elf(so)
    assert info.needed == ("libz.so.1",) and ZLIB_INTERNAL in info.undefined_symbols
    assert ZLIB_INTERNAL not in info.weak_symbols and info == elf_with_pyelftools(so)
    for platform in ("manylinux_2_17_x86_64", "musllinux_1_2_x86_64"):
        report = verify(wheel(tmp_path / platform, platform, {"demo/_x.so": so}))
        found = messages(report, Check.BLACKLISTED_SYMBOLS)
        assert not report.ok and len(found) == 1 and "zcalloc" in found[0] and platform in found[0]


@needs_gcc
def test_compiled_weak_reference_passes(tmp_path: Path) -> None:
    so = compile_against_zlib(tmp_path, weak=True)
    info = parse_elf(so)
    assert info.needed == ("libz.so.1",) and ZLIB_INTERNAL in info.weak_symbols
    assert info == elf_with_pyelftools(so)
    report = verify(wheel(tmp_path, "manylinux_2_17_x86_64", {"demo/_x.so": so}), "x86_64-manylinux_2_28")
    assert report.ok and not messages(report, Check.BLACKLISTED_SYMBOLS), report.findings


# external-libs: ELF


def test_unlisted_system_library(tmp_path: Path) -> None:
    patched = patch_bytes(ELF, b"libm.so.6\0", b"libq.so.6\0")
    report = verify(wheel(tmp_path, "manylinux_2_17_x86_64", {"demo/_x.so": patched}))
    found = messages(report, Check.EXTERNAL_LIBS)
    assert len(found) == 1 and "libq.so.6" in found[0] and "auditwheel repair" in found[0]


def test_vendored_library_reachable_by_runpath(tmp_path: Path) -> None:
    patched = patch_bytes(ELF, b"libm.so.6\0", b"libq.so.6\0")
    files = {"demo/_x.so": patched, "xb.libs/libq.so.6": ELF}
    assert verify(wheel(tmp_path, "manylinux_2_17_x86_64", files)).ok


def test_vendored_library_not_reachable(tmp_path: Path) -> None:
    patched = patch_bytes(ELF, b"libm.so.6\0", b"libq.so.6\0")
    files = {"demo/_x.so": patched, "elsewhere.libs/libq.so.6": ELF}
    found = messages(verify(wheel(tmp_path, "manylinux_2_17_x86_64", files)), Check.EXTERNAL_LIBS)
    assert len(found) == 1 and "loader will not find it" in found[0]


def test_libpython_is_refused() -> None:
    policy = load_policies().for_tag("manylinux2014_x86_64")
    assert policy is not None
    found = check_elf_libs("m", "m", elf(needed=("libpython3.12.so.1.0", "libc.so.6")), [policy], (), ())
    assert len(found) == 1 and "libpython" in found[0].message


def test_absolute_rpath_is_a_warning() -> None:
    found = check_elf_libs("m", "m", elf(rpath=("/home/ci/build/lib:$ORIGIN",)), [], (), ())
    assert [f.severity for f in found] == [Severity.WARNING]


def test_elfload_follows_the_rpath_chain() -> None:
    # auditwheel's layout: the extension has DT_RPATH, the grafted libraries have none.
    elves = {
        "pkg/_ext.so": elf(needed=("liba.so.1",), rpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/liba.so.1": elf(needed=("libb.so.1",)),
        "pkg.libs/libb.so.1": elf(),
    }
    assert unreachable_vendored(elves, {"liba.so.1", "libb.so.1"}) == []


def test_elfload_runpath_is_not_inherited() -> None:
    elves = {
        "pkg/_ext.so": elf(needed=("liba.so.1",), runpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/liba.so.1": elf(needed=("libb.so.1",)),
        "pkg.libs/libb.so.1": elf(),
    }
    assert unreachable_vendored(elves, {"liba.so.1", "libb.so.1"}) == [
        Unreachable("pkg.libs/liba.so.1", "libb.so.1")
    ]


def test_elfload_breadth_first_already_loaded() -> None:
    # libb is a direct dependency of the root too, so it is loaded before liba's needs are searched.
    elves = {
        "pkg/_ext.so": elf(needed=("liba.so.1", "libb.so.1"), runpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/liba.so.1": elf(needed=("libb.so.1",)),
        "pkg.libs/libb.so.1": elf(),
    }
    assert unreachable_vendored(elves, {"liba.so.1", "libb.so.1"}) == []


def test_elfload_own_runpath_disables_inherited_rpath() -> None:
    elves = {
        "pkg/_ext.so": elf(needed=("liba.so.1",), rpath=("$ORIGIN/../pkg.libs",)),
        "pkg.libs/liba.so.1": elf(needed=("libb.so.1",), runpath=("/nowhere",)),
        "pkg.libs/libb.so.1": elf(),
    }
    assert unreachable_vendored(elves, {"liba.so.1", "libb.so.1"}) == [
        Unreachable("pkg.libs/liba.so.1", "libb.so.1")
    ]


# external-libs: Mach-O


def test_macho_rpath_dylib_vendored(tmp_path: Path) -> None:
    files = {"demo/libppc.dylib": PPC, "Frameworks/libweak.dylib": PPC}
    report = verify(wheel(tmp_path, "macosx_10_4_ppc", files))
    assert not messages(report, Check.EXTERNAL_LIBS), report.findings


def test_macho_rpath_dylib_missing(tmp_path: Path) -> None:
    report = verify(wheel(tmp_path, "macosx_10_4_ppc", {"demo/libppc.dylib": PPC}))
    found = messages(report, Check.EXTERNAL_LIBS)
    assert len(found) == 1 and "@rpath/libweak.dylib" in found[0] and "delocate" in found[0]


def test_macho_homebrew_dylib(tmp_path: Path) -> None:
    patched = patch_bytes(PPC, b"/usr/lib/libSystem.B.dylib", b"/opt/hbx/libSystem.B.dylib")
    files = {"demo/libppc.dylib": patched, "Frameworks/libweak.dylib": PPC}
    found = messages(verify(wheel(tmp_path, "macosx_10_4_ppc", files)), Check.EXTERNAL_LIBS)
    assert len(found) == 1 and "/opt/hbx/libSystem.B.dylib" in found[0]


# external-libs: PE


@pytest.mark.parametrize(
    ("dll", "check", "severity", "words"),
    [
        (b"KERNEL99.dll", Check.EXTERNAL_LIBS, Severity.ERROR, "neither a Windows system DLL"),
        (b"msvcp140.dll", Check.EXTERNAL_LIBS, Severity.WARNING, "redistributable"),
        (b"python33.dll", Check.EXTERNAL_LIBS, Severity.ERROR, "Python 3.3"),
        (b"python12.dll", Check.EXTERNAL_LIBS, Severity.ERROR, "Python 1.2"),
    ],
)
def test_pe_imports(tmp_path: Path, dll: bytes, check: Check, severity: Severity, words: str) -> None:
    patched = patch_bytes(PE, b"KERNEL32.dll", dll)
    report = verify(wheel(tmp_path, "win_amd64", {"demo/_x.pyd": patched}))
    assert [m for m in messages(report, check, severity) if words in m], report.findings


def test_pe_vendored_dll(tmp_path: Path) -> None:
    patched = patch_bytes(PE, b"KERNEL32.dll", b"libfoo99.dll")
    report = verify(wheel(tmp_path, "win_amd64", {"demo/_x.pyd": patched, "demo.libs/LIBFOO99.dll": PE}))
    assert report.ok, report.findings


def test_pe_python_dll_pure() -> None:
    def pe(*imports: str) -> PeInfo:
        return PeInfo(machine=0x8664, arch="x86_64", bits=64, is_dll=True, imports=imports, delay_imports=())

    none = Installed.of([])
    assert check_pe_libs("m", pe("python312.dll", "ucrtbase.dll"), none, {(3, 12)}, is_abi3=False) == []
    assert check_pe_libs("m", pe("python3.dll"), none, {(3, 8)}, is_abi3=True) == []
    assert check_pe_libs("m", pe("python311.dll"), none, {(3, 12)}, is_abi3=False)
    assert check_pe_libs("m", pe("python312t.dll"), none, {(3, 12)}, is_abi3=True)


def test_pe_abi3_must_import_python3_dll(tmp_path: Path) -> None:
    patched = patch_bytes(PE, b"KERNEL32.dll", b"python33.dll")
    report = verify(wheel(tmp_path, "win_amd64", {"demo/_x.pyd": patched}, abi="abi3"))
    assert any("abi3" in m for m in messages(report, Check.ABI3))


def test_delay_loaded_dlls_are_checked(tmp_path: Path) -> None:
    report = verify(
        wheel(tmp_path, "win_amd64", {"demo/_x.pyd": binary("x86_64-windows-delayload-synthetic.dll")})
    )
    assert report.ok, report.findings  # USER32.dll, delay-loaded, is a system DLL


def test_windows_system_dll_list_is_per_arch() -> None:
    assert "kernel32.dll" in windows_system_dlls("x86_64")
    assert "kernel32.dll" in windows_system_dlls("aarch64")
    assert len(windows_system_dlls("aarch64")) > len(windows_system_dlls("i686"))
