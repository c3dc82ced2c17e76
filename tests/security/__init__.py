"""Probes of issue 12 kept as tests (a package, so its conftest does not shadow tests/conftest.py)."""
