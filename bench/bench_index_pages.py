"""Time `xbuild.index.pages.parse_page` on real project pages, fetched once into a directory.

    .venv/bin/python bench/bench_index_pages.py [--pages DIR] [--repeat 5] [--index-url URL] [PROJECT...]

The default projects are the 31 that `xbuild plan numpy pandas pydantic fastapi boto3
cryptography orjson requests lxml pillow` pins for x86_64-manylinux2014 / 3.12. Pages are fetched
with the index client's Accept header (JSON when the index offers it) into DIR (default
~/.cache/xbuild-bench/pages, or under XBUILD_BENCH_DIR), once; later runs reuse them, so the
figures stay comparable across code changes. Each pass parses every page once, as a project page
(project known), as a find-links page (project=None), and read back from the parsed-files cache
(what a warm run does when the body has not changed), and as a cold plan for
x86_64-manylinux2014 / 3.12 parses it (judged: rows for the files whose tags may fit the target,
no DistFile built), and as a cold plan then keeps it (judged, fitted, grouped by version and
stored as the candidate cache's entry in a scratch directory: the per-page work a cold plan does
before the resolver sees the files).
Every pass runs in a new process, as `xbuild plan` does, so memoised filename parts and
the like start cold; the best of --repeat passes (in CPU seconds of the parsing process) is shown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name

from xbuild.index import KeptRows
from xbuild.index.cache import HttpCache, ParseKey
from xbuild.index.pages import ACCEPT, PARSER_VERSION, parse_page, parse_page_rows
from xbuild.plan.candidate_cache import CandidateStore, Judged, JudgedKey, tags_digest
from xbuild.plan.candidates import Fits
from xbuild.target import parse_target

PROJECTS = (
    *("annotated-doc", "annotated-types", "anyio", "boto3", "botocore", "certifi", "cffi"),
    *("charset-normalizer", "cryptography", "fastapi", "idna", "jmespath", "lxml", "numpy"),
    *("opentelemetry-api", "orjson", "pandas", "pillow", "pycparser", "pydantic", "pydantic-core"),
    *("python-dateutil", "pytz", "requests", "s3transfer", "six", "starlette", "typing-extensions"),
    *("typing-inspection", "tzdata", "urllib3"),
)
PYPI = "https://pypi.org/simple/"
JUDGED_TARGET = "x86_64-manylinux2014"  # Python 3.12, as plan_vs_uv.py

Page = tuple[str, str, str, bytes]  # project, content type, final URL, body


def fetch(directory: Path, projects: list[str], index_url: str) -> None:
    """Fetch the pages not already in `directory` (a .json header and a .body per project)."""
    directory.mkdir(parents=True, exist_ok=True)
    missing = [p for p in projects if not (directory / f"{p}.body").is_file()]
    if not missing:
        return
    with httpx.Client(follow_redirects=True, timeout=60) as client:
        for project in missing:
            response = client.get(f"{index_url.rstrip('/')}/{project}/", headers={"Accept": ACCEPT})
            response.raise_for_status()
            header = {"content_type": response.headers.get("Content-Type", ""), "url": str(response.url)}
            (directory / f"{project}.json").write_text(json.dumps(header))
            (directory / f"{project}.body").write_bytes(response.content)
            print(f"fetched {project}: {len(response.content):,} bytes", file=sys.stderr)


def load(directory: Path, projects: list[str]) -> list[Page]:
    pages = []
    for project in projects:
        header = json.loads((directory / f"{project}.json").read_text())
        body = (directory / f"{project}.body").read_bytes()
        pages.append((project, header["content_type"], header["url"], body))
    return pages


def parse_all(pages: list[Page], mode: str, cache: HttpCache | None) -> int:
    """Every page's files: parsed as a project page, as a find-links page, or from `cache`."""
    count = 0
    for project, content_type, url, body in pages:
        name = canonicalize_name(project) if mode != "find-links" else None
        if mode in ("judged", "stored"):  # what a cold plan parses: files whose tags miss never kept
            target = parse_target(JUDGED_TARGET, python_version="3.12", environ={})
            fits = Fits(target)
            rows = parse_page_rows(
                content_type=content_type, body=body, page_url=url, project=name, keep=fits.tags
            )
            count += len(rows)
            if mode == "stored" and cache is not None and name is not None:
                store = CandidateStore(cache.root / "candidates")
                store.store(
                    JudgedKey(
                        project=name,
                        validator=hashlib.sha256(body).hexdigest(),
                        tags=tags_digest(target),
                        python_full="3.12.16",
                        prerelease="bench",
                    ),
                    Judged.of(KeptRows((PYPI,), rows), fits),
                )
            continue
        elif cache is None:
            files = parse_page(
                content_type=content_type, body=body, page_url=url, index_url=PYPI, project=name
            )
        else:
            found = cache.load_files(url, parse_key(content_type, url, body, name))
            assert found is not None, f"{url} is not in the bench's cache"
            files = found
        count += len(files)
    return count


def parse_key(content_type: str, url: str, body: bytes, project: str | None) -> ParseKey:
    """The key IndexClient uses, the body's sha256 included, so its cost is counted too."""
    return ParseKey(
        page_sha256=hashlib.sha256(body).hexdigest(),
        content_type=content_type,
        page_url=url,
        index_url=PYPI,
        project=project,
        parser=PARSER_VERSION,
    )


def fill_cache(root: Path, pages: list[Page]) -> None:
    cache = HttpCache(root)
    for project, content_type, url, body in pages:
        files = parse_page(
            content_type=content_type,
            body=body,
            page_url=url,
            index_url=PYPI,
            project=canonicalize_name(project),
        )
        cache.store_files(url, parse_key(content_type, url, body, canonicalize_name(project)), files)


def one_pass(directory: Path, projects: list[str], mode: str, cache_root: Path) -> None:
    """Runs in a child: read every page's files once and print (CPU seconds, files) as JSON.

    CPU time, not wall time: the machines this runs on are shared, and parsing is one thread."""
    pages = load(directory, projects)
    cache = HttpCache(cache_root) if mode in ("cached", "stored") else None
    start = time.process_time()
    count = parse_all(pages, mode, cache)
    print(json.dumps([time.process_time() - start, count]))


def best_of(repeat: int, argv: list[str]) -> tuple[float, int]:
    runs = [json.loads(subprocess.check_output([sys.executable, __file__, *argv])) for _ in range(repeat)]
    return min(seconds for seconds, _ in runs), runs[0][1]


MODES = {
    "project": "project pages",
    "find-links": "find-links (project=None)",
    "cached": "project pages, cache hit",
    "judged": f"judged for {JUDGED_TARGET}",
    "stored": "judged, fitted and stored",
}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    bench_dir = Path(os.environ.get("XBUILD_BENCH_DIR", Path.home() / ".cache" / "xbuild-bench"))
    parser.add_argument("--pages", type=Path, default=bench_dir / "pages")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("projects", nargs="*", default=PROJECTS)
    args = parser.parse_args()
    projects = list(args.projects)
    if args.worker is not None:
        one_pass(args.pages, projects, args.worker, args.cache)
        return
    fetch(args.pages, projects, args.index_url)
    pages = load(args.pages, projects)
    size = sum(len(p[3]) for p in pages)
    types = sorted({p[1].split(";")[0] for p in pages})
    print(f"{len(pages)} pages, {size / 1e6:.1f} MB, {', '.join(types)}")
    with tempfile.TemporaryDirectory(prefix="xbuild-bench-pages-") as scratch:
        fill_cache(Path(scratch), pages)
        for mode, label in MODES.items():
            argv = ["--pages", str(args.pages), "--worker", mode, "--cache", scratch, *projects]
            seconds, count = best_of(args.repeat, argv)
            print(f"{label:34} {count:7,} files  {seconds:6.3f} s  ({seconds / count * 1e6:.1f} us/file)")


if __name__ == "__main__":
    main()
