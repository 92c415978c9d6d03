"""The package index client behind `xbuild plan`.

Reads PEP 691 JSON and PEP 503 HTML simple indexes (http(s) and file://) plus find-links
sources, fetches core metadata (PEP 658/714, else wheel byte ranges, else the whole file) and
downloads distributions with hash checks, all through one on-disk cache.

Configuration comes only from arguments and, via `index_urls_from_env`, from the UV_*/PIP_*
index variables. pip and uv configuration files (pip.conf, uv.toml) are deliberately NOT read:
a plan must not depend on files the user cannot see in the command line or environment.
Credentials come from user:password in index URLs and from ~/.netrc; they never appear in
DistFile URLs, the cache or logs (see `redact_url`).
"""

from .cache import CachedPage, HttpCache
from .client import IndexClient
from .models import DistFile, KeptRows, ProjectPage
from .urls import index_urls_from_env, redact_url, strip_credentials

__all__ = [
    "CachedPage",
    "DistFile",
    "HttpCache",
    "IndexClient",
    "KeptRows",
    "ProjectPage",
    "index_urls_from_env",
    "redact_url",
    "strip_credentials",
]
