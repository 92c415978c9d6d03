"""The one cache root: `XBUILD_CACHE_DIR` when set, else the platform's user cache directory.

Apart from `host.cache` (file locks, scratch sweeping) so that the replay of an unchanged plan
(`cli.replay`), which runs before anything else is imported, finds its records cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    override = env.get("XBUILD_CACHE_DIR", "").strip()
    if override:
        return Path(override)
    import platformdirs  # only without the override: most CI runs set it, and start-up counts

    return Path(platformdirs.user_cache_dir("xbuild"))
