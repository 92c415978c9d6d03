"""Time xbuild.binary against pyelftools, macholib and pefile, and feed both hostile input.

    .venv/bin/python bench/bench_parsers.py [--quick] [extra files...]

Speed: every file is parsed to the same answer (`xbuild.binary.reference` does the library side
and the tests check that both agree), and the best of several runs is reported per call.
Robustness: seeded mutations of each file go to both sides; a side fails a sample when it raises
something other than its documented error, or takes longer than the time limit.

Inputs: the committed fixtures, real extension modules and libraries in this interpreter's
site-packages (Linux .so, the macOS test binaries that delocate ships, the Windows launchers
that pip and installer ship), and any paths given on the command line.
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import struct
import sys
import sysconfig
import time
import timeit
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pefile
from elftools.common.exceptions import ELFError

from xbuild.binary import BinaryFormat, BinaryParseError, ElfInfo, claimed_format, parse, sniff
from xbuild.binary.reference import elf_with_pyelftools, macho_with_macholib, pe_with_pefile

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "binaries"
MAX_REAL_FILES_PER_FORMAT = 12
SAMPLE_TIMEOUT_S = 2.0

Parser = Callable[[bytes], object]

LIBRARIES: dict[BinaryFormat, tuple[str, Parser, tuple[type[BaseException], ...]]] = {
    # The exceptions each library documents (or plainly intends) for bad input.
    BinaryFormat.ELF: ("pyelftools", elf_with_pyelftools, (ELFError,)),
    BinaryFormat.MACHO: ("macholib", macho_with_macholib, (ValueError,)),
    BinaryFormat.PE: ("pefile", pe_with_pefile, (pefile.PEFormatError,)),
}


@dataclass(frozen=True)
class Sample:
    label: str
    data: bytes
    fmt: BinaryFormat


def collect(extra: list[Path]) -> list[Sample]:
    fixtures = [p for p in sorted(FIXTURES.iterdir()) if not p.name.startswith("hostile")]
    site = Path(sysconfig.get_paths()["purelib"])
    real = sorted(site.rglob("*.so")) + sorted(site.rglob("*.dylib")) + sorted(site.rglob("*.exe"))
    samples = [s for s in _load(fixtures, "fixture") if s is not None]
    per_format: Counter[BinaryFormat] = Counter()
    for sample in _load(real + extra, "real"):
        if sample is not None and per_format[sample.fmt] < MAX_REAL_FILES_PER_FORMAT:
            per_format[sample.fmt] += 1
            samples.append(sample)
    return samples


def _load(paths: list[Path], kind: str) -> Iterator[Sample | None]:
    for path in paths:
        data = path.read_bytes()
        fmt = sniff(data)
        if fmt is None or fmt not in LIBRARIES:  # wasm: no reference library to race
            yield None
        else:
            yield Sample(f"{kind}:{path.parent.name}/{path.name}", data, fmt)


def parse_all(data: bytes) -> object:
    """parse() and the symbol names it decodes on first use: the same work the libraries do."""
    info = parse(data)
    if isinstance(info, ElfInfo):
        len(info.undefined_symbols)
    return info


def best_call_seconds(func: Parser, data: bytes, budget_s: float) -> float:
    """Best per-call time over five runs, each sized to take roughly budget_s / 5."""
    timer = timeit.Timer(lambda: func(data))
    number, elapsed = timer.autorange()
    number = max(1, int(number * (budget_s / 5) / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number


def speed(samples: list[Sample], budget_s: float) -> dict[BinaryFormat, list[float]]:
    print(f"{'file':<58} {'bytes':>9} {'ours µs':>9} {'lib µs':>9} {'lib/ours':>8}")
    ratios: dict[BinaryFormat, list[float]] = {fmt: [] for fmt in LIBRARIES}
    for sample in samples:
        name, library, _ = LIBRARIES[sample.fmt]
        ours = best_call_seconds(parse_all, sample.data, budget_s)
        theirs = best_call_seconds(library, sample.data, budget_s)
        ratios[sample.fmt].append(theirs / ours)
        label = f"{sample.label} [{name}]"
        times = f"{ours * 1e6:>9.1f} {theirs * 1e6:>9.1f} {theirs / ours:>7.1f}x"
        print(f"{label:<58} {len(sample.data):>9} {times}")
    return ratios


def mutations(data: bytes, count: int, seed: int) -> Iterator[bytes]:
    """Byte flips, extreme 32-bit words and truncations, biased towards the headers."""
    rng = random.Random(seed)
    extremes = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(data), len(data) + 1)
    for _ in range(count):
        mutated = bytearray(data)
        kind = rng.randrange(3)
        span = min(len(data), 1024) if rng.random() < 0.8 else len(data)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(span)] = rng.randrange(256)
        elif kind == 1 and span >= 4:
            at = rng.randrange(span - 3)
            mutated[at : at + 4] = struct.pack("<I", rng.choice(extremes))
        else:
            del mutated[rng.randrange(len(data)) :]
        yield bytes(mutated)


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def outcome(func: Parser, data: bytes, expected: tuple[type[BaseException], ...]) -> str:
    signal.setitimer(signal.ITIMER_REAL, SAMPLE_TIMEOUT_S)
    try:
        func(data)
    except _Timeout:
        return "timeout"
    except expected:
        return "clean error"
    except Exception as error:  # the point is to count what leaks
        return type(error).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return "ok"


def hostile_fixtures() -> None:
    """The committed hostile samples, fed to every parser whose magic they carry."""
    signal.signal(signal.SIGALRM, _on_alarm)
    print("\nhostile fixtures:")
    for path in sorted(FIXTURES.glob("hostile-*")):
        data = path.read_bytes()
        results = [f"xbuild.binary: {outcome(parse, data, (BinaryParseError,))}"]
        fmt = claimed_format(data)
        if fmt is not None and fmt in LIBRARIES:
            name, library, expected = LIBRARIES[fmt]
            results.append(f"{name}: {outcome(library, data, expected)}")
        print(f"  {path.name:<32} " + ", ".join(results))


def robustness(samples: list[Sample], per_file: int) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    for fmt, (name, library, expected) in LIBRARIES.items():
        ours: Counter[str] = Counter()
        theirs: Counter[str] = Counter()
        ours_time = theirs_time = 0.0
        for index, sample in enumerate(s for s in samples if s.fmt is fmt):
            for data in mutations(sample.data, per_file, seed=index):
                start = time.perf_counter()
                ours[outcome(parse, data, (BinaryParseError,))] += 1
                middle = time.perf_counter()
                theirs[outcome(library, data, expected)] += 1
                ours_time += middle - start
                theirs_time += time.perf_counter() - middle
        print(f"\n{fmt.value}: {sum(ours.values())} mutated samples")
        print(f"  xbuild.binary ({ours_time:.2f} s): {dict(ours.most_common())}")
        print(f"  {name} ({theirs_time:.2f} s): {dict(theirs.most_common())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing runs, fewer mutations")
    parser.add_argument("extra", nargs="*", type=Path, help="more binaries to include")
    args = parser.parse_args()
    samples = collect(args.extra)
    ratios = speed(samples, budget_s=0.05 if args.quick else 0.25)
    print("\nmedian speed-up (library time / our time):")
    for fmt, values in ratios.items():
        if values:
            print(f"  {fmt.value:<6} {statistics.median(values):6.1f}x over {len(values)} files")
    hostile_fixtures()
    robustness(samples, per_file=40 if args.quick else 200)
    return 0


if __name__ == "__main__":
    sys.exit(main())
