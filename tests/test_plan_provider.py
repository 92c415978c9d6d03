"""Reading Requires-Dist and Dynamic from core metadata: the headers only, as the email parser
reads them, whatever the description after them says."""

from __future__ import annotations

import pytest
from packaging.metadata import parse_email

from xbuild.plan.provider import parse_requires, static_requires_dist

HEADERS = (
    b"Metadata-Version: 2.4\n"
    b"Name: demo-pkg\n"
    b"Version: 1.0\n"
    b"Requires-Dist: six>=1.5\n"
    b"Requires-Dist: rich[jupyter] ; extra == 'fancy [x]'\n"
    b"Requires-Dist: not a requirement!!\n"
    b"Provides-Extra: fancy [x]\n"
    b"Description-Content-Type: text/markdown\n"
)
# A README as descriptions are: long, unicode, and quoting metadata of its own.
BODY = (
    "# démo [pkg]\n\n"
    "Install it:\n\n"
    "    Requires-Dist: evil-pkg\n"
    "Requires-Dist: also-evil\n"
    "Dynamic: Requires-Dist\n\n" + "Lorem ipsum 'q' \"qq\" ü. " * 2000
).encode()


@pytest.mark.parametrize(
    "raw",
    [HEADERS, HEADERS + b"\n" + BODY, (HEADERS + b"\n" + BODY).replace(b"\n", b"\r\n")],
    ids=["no body", "body", "crlf"],
)
def test_requires_dist_comes_from_the_headers_alone(raw: bytes) -> None:
    requires, extras, invalid = parse_requires(raw)
    assert [str(r) for r in requires] == ["six>=1.5", 'rich[jupyter]; extra == "fancy [x]"']
    assert extras == ("fancy [x]",)
    assert invalid == ("not a requirement!!",)
    whole, _ = parse_email(raw)  # packaging's own reading of the whole file agrees
    lines = ["six>=1.5", "rich[jupyter] ; extra == 'fancy [x]'", "not a requirement!!"]
    assert whole.get("requires_dist") == lines


def test_dynamic_in_the_description_is_not_a_header() -> None:
    assert static_requires_dist(HEADERS + b"\n" + BODY)
    assert not static_requires_dist(HEADERS + b"Dynamic: Requires-Dist\n\n" + BODY)
    assert not static_requires_dist(HEADERS.replace(b"2.4", b"2.1") + b"\n" + BODY)
