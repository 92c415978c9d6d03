"""The shared TLS context: the trust store pip and httpx pick, loaded once, and a clear error for a
bundle that cannot be read (it used to read "cannot write a file" or "internal error")."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.errors import ExitCode, InputError
from xbuild.util import tls

HOSTILE_DIR = "certs [x] 'q' ü"


@pytest.fixture
def no_trust_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_without_variables_the_context_trusts_certifis_bundle(no_trust_env: None) -> None:
    context = tls._Shared().get()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_one_context_per_process(no_trust_env: None) -> None:
    shared = tls._Shared()
    assert shared.get() is shared.get()


@pytest.mark.parametrize("content", [None, b"not a certificate\n"], ids=["missing", "garbage"])
def test_an_unreadable_bundle_is_an_input_error_each_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes | None
) -> None:
    bundle = tmp_path / HOSTILE_DIR / "ca [1].pem"
    if content is not None:
        bundle.parent.mkdir()
        bundle.write_bytes(content)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    shared = tls._Shared()
    for _ in range(2):  # a failure is not kept: the next request tries again
        with pytest.raises(InputError) as caught:
            shared.get()
        assert f"SSL_CERT_FILE={bundle}" in caught.value.message
        assert caught.value.exit_code == ExitCode.USAGE


def test_the_file_wins_over_the_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(InputError, match="SSL_CERT_FILE="):
        tls._Shared().get()


def test_a_plan_with_a_bad_bundle_says_so_and_exits_2(index_server: IndexServer, tmp_path: Path) -> None:
    """In a new process: the context is shared by the whole process, and loaded on a thread.
    A plain-http index needs no certificates, so the same bundle does not stop a plan there."""
    make_wheel(index_server.dist_dir, "six", "1.17.0")
    bundle = tmp_path / HOSTILE_DIR / "missing.pem"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "XBUILD_"))}
    env.update(SSL_CERT_FILE=str(bundle), XBUILD_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("SSL_CERT_DIR", None)

    def plan(index_url: str) -> subprocess.CompletedProcess[str]:
        argv = ["plan", "six", "--index-url", index_url, "-p", "linux", "--python-version", "3.12"]
        command = [sys.executable, "-m", "xbuild", *argv]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    # The certificates load before any connection: the port need not be listening.
    port = urlsplit(index_server.index_url).port
    done = plan(index_server.index_url.replace(f"http://127.0.0.1:{port}", "https://127.0.0.1:9"))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "CA certificates" in done.stderr and "SSL_CERT_FILE" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert plan(index_server.index_url).returncode == ExitCode.OK
