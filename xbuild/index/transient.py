"""A failure worth retrying: raised by the socket half of the HTTP edge (wire.py), retried by the
other half (http.py), which must not import the socket half before a request is made."""

from __future__ import annotations


class Transient(Exception):
    """`truncated` failures end as RefusedError once the tries are spent, others as EngineError."""

    def __init__(self, why: str, *, truncated: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.truncated = truncated
