"""Routes decide where a source build runs (pure functions of target and host facts); build/ does it."""
