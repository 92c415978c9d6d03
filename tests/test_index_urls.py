"""URL helpers: redaction, credentials, project URLs and index URLs from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from xbuild.index import index_urls_from_env, redact_url, strip_credentials
from xbuild.index.urls import location_to_url, project_url, url_credentials


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:s3cret@example.org/simple/", "https://***@example.org/simple/"),
        ("https://token@example.org:8443/simple/", "https://***@example.org:8443/simple/"),
        ("https://example.org/simple/", "https://example.org/simple/"),
        ("file:///srv/index/", "file:///srv/index/"),
    ],
)
def test_redact_url_hides_user_and_password(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_strip_credentials_removes_userinfo_but_keeps_port() -> None:
    assert strip_credentials("http://u:p@127.0.0.1:8080/simple/") == "http://127.0.0.1:8080/simple/"


def test_url_credentials_are_unquoted_and_keyed_by_host_and_port() -> None:
    found = url_credentials("https://me%40corp:p%3Ass@Pkgs.Example.org:8443/simple/")
    assert found == ("pkgs.example.org:8443", ("me@corp", "p:ss"))
    assert url_credentials("https://pkgs.example.org/simple/") is None


@pytest.mark.parametrize("index", ["https://x.org/simple", "https://x.org/simple/"])
def test_project_url_appends_normalized_name_with_trailing_slash(index: str) -> None:
    assert project_url(index, canonicalize_name("Foo_Bar")) == "https://x.org/simple/foo-bar/"


def test_plain_paths_become_file_urls(tmp_path: Path) -> None:
    assert location_to_url(str(tmp_path)) == tmp_path.as_uri()
    assert location_to_url("https://x.org/links/") == "https://x.org/links/"


def test_index_urls_from_env_prefers_uv_over_pip() -> None:
    env = {
        "PIP_INDEX_URL": "https://pip.example/simple/",
        "UV_INDEX_URL": "https://uv.example/simple/",
        "PIP_EXTRA_INDEX_URL": "https://a.example/simple/  https://b.example/simple/",
    }
    assert index_urls_from_env(env) == (
        "https://uv.example/simple/",
        ("https://a.example/simple/", "https://b.example/simple/"),
    )


def test_index_urls_from_env_empty_or_blank_means_unset() -> None:
    assert index_urls_from_env({}) == (None, ())
    assert index_urls_from_env({"UV_INDEX_URL": " ", "UV_EXTRA_INDEX_URL": ""}) == (None, ())


def test_uv_extra_index_url_wins_over_pip() -> None:
    env = {"UV_EXTRA_INDEX_URL": "https://uv/", "PIP_EXTRA_INDEX_URL": "https://pip/"}
    assert index_urls_from_env(env) == (None, ("https://uv/",))
