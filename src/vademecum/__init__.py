"""Vademecum: an open clinical evidence answer engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vademecum")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
