"""xbuild: a cross-target wheel build orchestrator."""

__version__ = "0.1.0"
