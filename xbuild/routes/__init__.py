"""Routes: where a source build runs. One Protocol (base.Route), one registry (registry.ROUTES)."""
