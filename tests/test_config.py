"""[tool.xbuild]: defaults as data, unknown keys named with the closest valid one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from xbuild.config import check_project_table, load_config
from xbuild.errors import InputError


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n\n' + body)
    return tmp_path


def test_full_table(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[tool.xbuild]
targets = ["aws-lambda-python3.12-arm64"]
source-policy = "never"
only-binary = ["numpy"]
[tool.xbuild.images]
"aws-lambda-python3.12-arm64" = "my/image:1"
[tool.xbuild.engines]
aarch64 = "ssh://arm-builder"
[tool.xbuild.bundle]
layout = "lambda-layer"
include = "handler.py"
strip = ["tests"]
""",
        )
    )
    assert cfg.targets == ("aws-lambda-python3.12-arm64",)
    assert cfg.images["aws-lambda-python3.12-arm64"] == "my/image:1"
    assert cfg.engines == {"aarch64": "ssh://arm-builder"}
    assert cfg.bundle.include == ("handler.py",) and cfg.bundle.layout == "lambda-layer"


def test_unknown_key_names_the_closest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown key `target`") as info:
        load_config(write(tmp_path, '[tool.xbuild]\ntarget = ["linux"]\n'))
    assert info.value.hint == "did you mean `targets`?"


def test_unknown_bundle_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="bundle: unknown key `layuot`"):
        load_config(write(tmp_path, '[tool.xbuild.bundle]\nlayuot = "lambda"\n'))


def test_absent_table_and_file_mean_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).targets == ()
    assert load_config(tmp_path / "nowhere").targets == ()


def test_wrong_types(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="targets"):
        load_config(write(tmp_path, "[tool.xbuild]\ntargets = 3\n"))


@pytest.mark.parametrize(
    "body",
    [
        "[tool.xbuild]\npython-version = 3.12\n",
        "[tool.xbuild]\nsource-policy = true\n",
        "[tool.xbuild.bundle]\nmax-size = 50\n",
        "[tool.xbuild.bundle]\noutput = 1\n",
        "[tool.xbuild.bundle]\nlayout = ['dir']\n",
    ],
)
def test_scalars_must_be_strings(tmp_path: Path, body: str) -> None:
    with pytest.raises(InputError, match="expected a string") as caught:
        load_config(write(tmp_path, body))
    assert caught.value.hint


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"project": {"dependencies": [1, 2]}}, "1 is not a string"),
        ({"project": {"dependencies": "numpy"}}, "must be a list"),
        ({"project": {"optional-dependencies": {"x [y]": [{"a": 1}]}}}, "is not a string"),
        ({"project": {"optional-dependencies": []}}, "must be a table"),
        ({"project": "numpy"}, "must be a table"),
        ({"dependency-groups": {"dev": "pytest"}}, "table of lists"),
    ],
)
def test_dependency_fields_are_typed(table: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError, match=re.escape(words)):
        check_project_table(table, Path("pyproject.toml"))


def test_well_typed_dependency_fields_pass() -> None:
    table = {
        "project": {"dependencies": ["numpy>=2"], "optional-dependencies": {"x": ["rich"]}},
        "dependency-groups": {"dev": ["pytest", {"include-group": "x"}]},
    }
    check_project_table(table, Path("pyproject.toml"))
