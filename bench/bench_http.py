"""The HTTP client under a cold plan: xbuild's own (index/wire.py, on http.client) against httpx,
which it replaced, fetching the same index pages side by side.

    .venv/bin/python bench/bench_http.py [--repeat 5] [--index-url URL] [PROJECT...]

Each pass runs in a new process, as `xbuild plan` does, and fetches every page once over one
kept connection, reading the body chunk by chunk as the fetcher does. Three figures per client:

    import    seconds to import the client in a new interpreter (what the first request waits for)
    cpu       CPU seconds of the fetching pass (user + system of the process, imports excluded)
    wall      wall seconds of the same pass

The best of --repeat passes is shown, with httpx/wire ratios. The default pages are
bench_index_pages.py's 31. (A pass with a busy pure-Python thread beside it was tried too: each
16 KB TLS record then waits for the interpreter's lock, and the figures swung from 0.4 s to 2.4 s
between runs, for either client; they say nothing steady, so they are not printed.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench_index_pages import PROJECTS, PYPI

ACCEPT = "application/vnd.pypi.simple.v1+json"


def fetch_httpx(urls: list[str]) -> int:
    import httpx

    from xbuild.util import tls

    total = 0
    with httpx.Client(http2=False, verify=tls.context(), follow_redirects=True, timeout=60) as client:
        for url in urls:
            with client.stream("GET", url, headers={"Accept": ACCEPT}) as response:
                total += sum(len(chunk) for chunk in response.iter_raw())
    return total


def fetch_wire(urls: list[str]) -> int:
    from xbuild.index.wire import Connection, chunks

    total = 0
    connection = Connection(timeout=60, credentials={}, netrc_path=None)
    try:
        for url in urls:
            with connection.stream(url, {"Accept": ACCEPT}) as response:
                total += sum(len(chunk) for chunk in chunks(response, url))
    finally:
        connection.close()
    return total


CLIENTS = {"httpx": fetch_httpx, "wire": fetch_wire}
# What each client's first request imports, after the index package (imported by every plan).
IMPORTS = {"httpx": "import httpx, xbuild.util.tls", "wire": "import xbuild.index.wire"}


def import_seconds(client: str) -> float:
    """In a new interpreter with nothing of the bench loaded: the client's own imports."""
    code = "import time, xbuild.index; t = time.perf_counter(); "
    code += f"{IMPORTS[client]}; print(time.perf_counter() - t)"
    return float(subprocess.check_output([sys.executable, "-c", code]))


def one_pass(client: str, urls: list[str]) -> None:
    """In a child: fetch; print [import s, cpu s, wall s, bytes]."""
    imported = import_seconds(client)
    cpu, wall = time.process_time(), time.perf_counter()
    size = CLIENTS[client](urls)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps([imported, cpu, wall, size]))


def best(repeat: int, argv: list[str]) -> list[float]:
    runs = [json.loads(subprocess.check_output([sys.executable, __file__, *argv])) for _ in range(repeat)]
    return [min(r[i] for r in runs) for i in range(3)] + [runs[0][3]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("projects", nargs="*", default=PROJECTS)
    args = parser.parse_args()
    urls = [f"{args.index_url.rstrip('/')}/{p}/" for p in args.projects]
    if args.worker:
        one_pass(args.worker, urls)
        return
    print(f"{len(urls)} pages from {args.index_url}, best of {args.repeat} passes, each in a new process")
    results = {client: best(args.repeat, ["--worker", client, *urls_args(args)]) for client in CLIENTS}
    print(f"{results['wire'][3] / 1e6:.1f} MB read by each client")
    for client, (imported, cpu, wall, _) in results.items():
        print(f"  {client:6} import {imported * 1e3:6.1f} ms  cpu {cpu:6.3f} s  wall {wall:6.3f} s")
    h, w = results["httpx"], results["wire"]
    print(f"  httpx/wire: import {h[0] / w[0]:.2f}x  cpu {h[1] / w[1]:.2f}x  wall {h[2] / w[2]:.2f}x")


def urls_args(args: argparse.Namespace) -> list[str]:
    return ["--index-url", args.index_url, *args.projects]


if __name__ == "__main__":
    main()
