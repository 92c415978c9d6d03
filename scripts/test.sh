#!/usr/bin/env bash
# The test command from README.md, and what .ci/run executes.
# Sets up everything the tests need (venv, Docker engine, qemu binfmt, local base images),
# idempotently, then runs ruff, mypy --strict and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/bootstrap.sh
if [ "$(id -u)" = 0 ] && [ "${XBUILD_SKIP_ENGINE:-0}" != 1 ]; then
  ./scripts/setup-engine.sh
else
  echo "test: not root or XBUILD_SKIP_ENGINE=1: container/emulation tests skip unless an engine runs"
fi
echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy --strict"
.venv/bin/mypy
echo "test: pytest"
exec .venv/bin/pytest -q "$@"
