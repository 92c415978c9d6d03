"""The real tools' files for a FastAPI/Mangum/psycopg/uvicorn Lambda app, planned against PyPI.

Every file in tests/fixtures/real (scripts/make-input-fixtures.sh) must plan, for both Lambda
architectures, exactly the versions the lock holds whose markers hold for the target: the
requirements files by resolving them on the real index, the locks with no resolution at all.
The universal files (uv, poetry) hold `tzdata; sys_platform == 'win32'`: they need the planner to
judge root markers for the target (issue 9, item 2). Deselect with `pytest -m "not network"`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import quick_client

from xbuild.index import HttpCache, IndexClient
from xbuild.plan.inputs import collect_inputs
from xbuild.plan.locked import plan_from_lock, read_lock
from xbuild.plan.model import Action, Plan
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, Target, parse_target

pytestmark = pytest.mark.network

REAL = Path(__file__).parent / "fixtures" / "real"
PYPI = "https://pypi.org/simple"
HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset({Arch.AARCH64}), pythons=frozenset({"3.11"}))
TARGETS = {name: parse_target(f"aws-lambda-python3.12-{name}", environ={}) for name in ("arm64", "x86_64")}
REQUIREMENT_FILES = (
    "uv-export.txt",
    "uv-export-hashes.txt",
    "uv-pip-compile-hashes.txt",
    "pip-compile-hashes.txt",
    "poetry-export.txt",
    "poetry-export-hashes.txt",
    "pip-freeze.txt",
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexClient]:
    cache = HttpCache(tmp_path_factory.mktemp("xbuild-cache"))
    with quick_client([PYPI], cache=cache, timeout=60.0) as c:
        yield c


def locked(target: Target) -> dict[str, str]:
    """uv's lock, walked for the target: the versions every file must come to."""
    plan = plan_from_lock(read_lock(REAL / "lambda-app" / "uv.lock", target), target, host=HOST)
    return {d.name: d.version for d in plan.distributions}


def versions(plan: Plan) -> dict[str, str]:
    return {d.name: d.version for d in plan.distributions}


@pytest.mark.parametrize("arch", sorted(TARGETS))
@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_requirements_files_plan_the_locked_versions(client: IndexClient, name: str, arch: str) -> None:
    target = TARGETS[arch]
    inputs = collect_inputs([], [REAL / name], environ={})
    plan = make_plan(inputs, target, client, host=HOST)
    assert versions(plan) == locked(target)
    assert all(d.action is Action.WHEEL for d in plan.distributions)


@pytest.mark.parametrize("arch", sorted(TARGETS))
@pytest.mark.parametrize("name", ["pylock.toml", "lambda-app/uv.lock"])
def test_locks_plan_the_locked_versions_and_their_files_exist(
    client: IndexClient, name: str, arch: str
) -> None:
    target = TARGETS[arch]
    plan = plan_from_lock(read_lock(REAL / name, target), target, host=HOST)
    assert versions(plan) == locked(target)
    # Each chosen file is on the index with the lock's hash, and is the index's best for the target.
    for d in plan.distributions:
        files = {f.filename: f for f in client.project(d.name).files}
        assert files[d.file.filename].sha256 == d.file.sha256, d.file.filename
