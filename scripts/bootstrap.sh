#!/usr/bin/env bash
# Create .venv with xbuild and its dev tools. Idempotent: a second run only re-checks.
# Works on a fresh Debian/Ubuntu machine with Python 3.11+ (installs python3-venv if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: xbuild needs Python 3.11 or newer as $PY (set PYTHON=/path/to/python3.11)" >&2
  exit 3
fi
# Debian splits venv out of the interpreter; without it `python3 -m venv` fails half-way.
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "bootstrap: install python3-venv first (sudo apt-get install python3-venv)" >&2
    exit 3
  fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.xbuild-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing xbuild and dev tools into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi
echo "bootstrap: ready ($(.venv/bin/xbuild --version))"
