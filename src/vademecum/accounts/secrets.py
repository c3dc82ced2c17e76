"""Random credentials and their stored digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "vm_"


def new_secret() -> str:
    """A random URL-safe value with 256 bits of entropy (session cookies, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    """A random API token; the prefix lets secret scanners and people recognise it."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """The SHA-256 hex digest stored in place of a session cookie or API token.

    A plain hash suffices (unlike passwords): the values are 256-bit random, so they cannot be guessed.
    """
    return hashlib.sha256(value.encode()).hexdigest()


def same(supplied: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two secrets; a missing one never matches."""
    if not supplied or not expected:
        return False
    return hmac.compare_digest(supplied.encode(), expected.encode())
