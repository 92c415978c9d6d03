"""Cache keys: what changes a build's result changes the key; labels do not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from xbuild.build.keys import build_key, environment_key, source_digest, target_material
from xbuild.target import parse_target

PY39 = parse_target("debian-bullseye-x86_64", python_version="3.9.2", environ={})
REQS = ("pip", "build", "setuptools>=61")


def _key(**changes: object) -> str:
    target = replace(PY39, **changes)  # type: ignore[arg-type]
    return build_key("digest", target, "sha256:img", REQS, 315532800)


def test_labels_do_not_change_the_build_key() -> None:
    base = _key()
    assert _key(description="edited [desc] 'ünï'") == base
    assert _key(name="renamed target") == base
    assert _key(spec="another spelling") == base
    assert _key(python_version_source="target") == base
    assert _key(image="xbuild-build:other-name") == base  # the image is keyed by its ID


def test_what_changes_the_result_changes_the_build_key() -> None:
    base = _key()
    assert _key(python_full_version="3.9.18") != base
    assert _key(python_version=(3, 12), python_full_version="3.12.1") != base
    assert _key(libc_version=(2, 28)) != base
    assert build_key("digest", PY39, "sha256:other", REQS, 315532800) != base
    assert build_key("digest", PY39, "sha256:img", (*REQS, "cython"), 315532800) != base
    assert build_key("digest", PY39, "sha256:img", REQS, 0) != base
    assert build_key("other", PY39, "sha256:img", REQS, 315532800) != base
    assert build_key("digest", PY39, "sha256:img", tuple(reversed(REQS)), 315532800) == base


def test_target_material_keeps_platform_and_python() -> None:
    material = target_material(PY39)
    assert material["python_full_version"] == "3.9.2" and material["arch"] == "x86_64"
    assert "description" not in material and "name" not in material


def test_environment_key_is_per_image_python_and_requirements() -> None:
    base = environment_key("sha256:img", "3.9.2", PY39, REQS)
    py312 = PY39.with_python((3, 12), "3.12.1", "flag")
    assert environment_key("sha256:img", "3.12.1", py312, REQS) != base
    assert environment_key("sha256:img", "3.9.2", py312, REQS) != base  # multi-Python images
    assert environment_key("sha256:other", "3.9.2", PY39, REQS) != base
    assert environment_key("sha256:img", "3.9.2", PY39, REQS[:2]) != base
    assert environment_key("sha256:img", "3.9.2", replace(PY39, description="x"), REQS) == base


def test_source_digest_of_a_project_directory(tmp_path: Path) -> None:
    project = tmp_path / "my [project] ünï"
    (project / ".git").mkdir(parents=True)
    (project / "setup.py").write_text("print('a')\n")
    first = source_digest(project)
    (project / ".git" / "HEAD").write_text("ref\n")
    assert source_digest(project) == first  # VCS internals are not the source
    (project / "setup.py").write_text("print('b')\n")
    assert source_digest(project) != first
