"""When each index request of one `xbuild plan` starts and ends, and on which thread.

    XBUILD_CACHE_DIR=$(mktemp -d) .venv/bin/python bench/trace_requests.py [--tree DIR] -- \\
        plan -r reqs.in --python-platform x86_64-manylinux2014 --python-version 3.12 \\
        --source-policy never --format json

Runs the CLI in this process (from DIR's `xbuild` package when given, e.g. a `git archive` of
another commit), with the fetcher's single attempts at a page and at a byte range timed. It prints
one line per request: seconds since this script started, duration, kind, what was asked, and the
thread. The plan's own output goes to /dev/null. The timeline shows what waits on what in a cold
plan (bench/README.md, "plan, cold: fifth pass"): when the first request leaves, which project's
page sits in the lookahead queue, how many range requests a wheel's metadata takes, and ("tls"
lines) how long a connection waited for the CA bundle to finish loading.

xbuild's modules are imported before the clock's first request, so start-up reads a little
shorter than in a plain run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

START = time.perf_counter()
Event = tuple[float, float, str, str, str]


def traced(events: list[Event], kind: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: object, url: str, *args: object, **kwargs: object) -> Any:
        began = time.perf_counter()
        try:
            return method(self, url, *args, **kwargs)
        finally:
            what = url.rstrip("/").rsplit("/", 1)[-1]
            events.append(
                (began - START, time.perf_counter() - began, kind, what, threading.current_thread().name)
            )

    return run


def traced_wait(events: list[Event], context: Callable[[], Any]) -> Callable[[], Any]:
    """The TLS context's getter, with each wait of over a millisecond for its loading recorded."""

    @functools.wraps(context)
    def run() -> Any:
        began = time.perf_counter()
        try:
            return context()
        finally:
            took = time.perf_counter() - began
            if took > 0.001:
                events.append(
                    (began - START, took, "tls", "waited for the CA bundle", threading.current_thread().name)
                )

    return run


def _tls_module() -> Any:
    try:
        from xbuild.util import tls
    except ImportError:  # a tree from before 2026-12-03's third session kept it in the index package
        from xbuild.index import tls  # type: ignore[attr-defined,no-redef]
    return tls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, help="a directory holding the xbuild package to trace")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="xbuild's arguments, after --")
    args = parser.parse_args()
    if args.tree is not None:
        sys.path.insert(0, str(args.tree.resolve()))
    from xbuild.cli import entry  # after the path: the tree under test
    from xbuild.index.http import Fetcher

    events: list[Event] = []
    Fetcher._page_once = traced(events, "page", Fetcher._page_once)  # type: ignore[method-assign]
    Fetcher._range_once = traced(events, "range", Fetcher._range_once)  # type: ignore[method-assign]
    tls = _tls_module()
    tls.context = traced_wait(events, tls.context)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    sys.argv = ["xbuild", *argv]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        try:  # the console script's path: the replay check and the early TLS load come first
            entry._run(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    ended = time.perf_counter() - START
    for began, took, kind, what, thread in sorted(events):
        print(f"{began:7.3f} {took:6.3f}  {kind:5}  {what[:60]:60}  {thread}")
    print(f"{ended:7.3f} end, exit {code}; {len(events)} requests")


if __name__ == "__main__":
    main()
