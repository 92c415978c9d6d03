"""Named targets are data; bad data files fail with the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbuild.errors import InputError
from xbuild.target import load_catalog


def test_every_lambda_runtime_and_arch_is_shipped() -> None:
    names = set(load_catalog().names())
    for py in ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14"):
        for arch in ("x86_64", "arm64"):
            assert f"aws-lambda-python{py}-{arch}" in names


def test_unknown_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text('[[target]]\nname="a"\nplatform="linux"\npython="3.12"\nimagee="x"\n')
    with pytest.raises(InputError, match="unknown keys imagee"):
        load_catalog(tmp_path)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    entry = '[[target]]\nname="a"\nplatform="linux"\npython="3.12"\n'
    (tmp_path / "t.toml").write_text(entry + entry)
    with pytest.raises(InputError, match="duplicate"):
        load_catalog(tmp_path)


def test_unreadable_toml(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text("[[target]\n")
    with pytest.raises(InputError, match="cannot read"):
        load_catalog(tmp_path)


def test_platform_defaults_file_adds_no_targets_and_named_mobile_web_targets_ship() -> None:
    catalog = load_catalog()
    assert not [e for e in catalog.entries if e.source.name == "platforms.toml"]
    assert {"pyodide-0.27", "pyodide-0.28", "free-threaded-3.14-x86_64"} <= set(catalog.names())
