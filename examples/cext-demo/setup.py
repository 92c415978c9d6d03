"""The extension module; everything else is declared in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cext_demo._native", sources=["src/cext_demo/_native.c"])])
