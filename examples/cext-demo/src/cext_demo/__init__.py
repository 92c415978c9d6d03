"""cext-demo: a C extension that reports the machine it was compiled for."""

from cext_demo._native import machine

__all__ = ["machine"]
