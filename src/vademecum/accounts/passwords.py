"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vademecum.errors import InvalidQueryError

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes any length; the bound keeps a request from making us hash megabytes

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("vademecum-no-such-user")


def check_password_rules(password: str) -> None:
    """Raise InvalidQueryError unless ``password`` is long enough and not absurdly long."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidQueryError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (after checking the length rules)."""
    check_password_rules(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a missing hash takes as long and fails."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters and should be replaced at the next sign-in."""
    return _HASHER.check_needs_rehash(password_hash)
