"""The TLS context every connection of the process shares, loaded ahead of the first request.

Loading a CA bundle parses each of its certificates: 23-45 ms here for 117-144 of them, inside
OpenSSL, which holds no GIL while it reads the file. A fetcher that may go online starts
`load_quietly` on a thread when it is made, so the bundle loads on another core while the
interpreter imports the planner; the first connection then takes the finished
context instead of waiting for it.

The trust store is the one pip and httpx pick: SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's
bundle.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading

import certifi

from ..errors import InputError


class _Shared:
    """One context per process, loaded once, whichever thread asks first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    def get(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = _load()
            return self._context


_SHARED = _Shared()


def context() -> ssl.SSLContext:
    """The shared context, loaded now unless another thread did (InputError for a bundle that
    cannot be read)."""
    return _SHARED.get()


def load_quietly() -> None:
    """Load the shared context ahead of need; a failure is left for `context` to raise again,
    where the request that needs it reports it."""
    with contextlib.suppress(InputError):
        _SHARED.get()


def _load() -> ssl.SSLContext:
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    where = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}" if capath else "certifi"
    try:
        if cafile:
            return ssl.create_default_context(cafile=cafile)
        if capath:
            return ssl.create_default_context(capath=capath)
        return ssl.create_default_context(cafile=certifi.where())
    except OSError as exc:  # ssl.SSLError is one too
        reason = exc.strerror or str(exc)
        raise InputError(
            f"cannot load the CA certificates of {where}: {reason}",
            hint="point SSL_CERT_FILE at a PEM bundle (or SSL_CERT_DIR at a hashed directory), "
            "or unset both to use certifi's",
        ) from exc
