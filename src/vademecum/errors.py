"""Errors raised by Vademecum; the CLI turns them into one-line messages, the web into status codes."""

from __future__ import annotations


class VademecumError(Exception):
    """Base class of every error this package raises on purpose."""


class ReaderError(VademecumError):
    """A source file could not be read; names the file and, where known, the record."""

    def __init__(self, source: str, message: str, record: str | None = None) -> None:
        self.source = source
        self.record = record
        self.detail = message
        where = f"{source} (record {record})" if record else source
        super().__init__(f"{where}: {message}")


class UnknownFormatError(ReaderError):
    """No reader recognises the file."""


class InvalidQueryError(VademecumError):
    """A search query or question was empty, too long or otherwise unusable."""


class NotIngestedError(VademecumError):
    """An operation needs a corpus and none has been ingested yet."""


class CitationError(VademecumError):
    """An article cites evidence that cannot be resolved to a source document."""


class QuestionRefused(InvalidQueryError):
    """A question the engine will not answer: empty, over-long, or not a clinical question.

    ``reason`` is a sentence for the person who asked, saying what was wrong.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidTransition(VademecumError):
    """A workflow action that the item's current state does not allow (e.g. approving an approved version)."""


class PermissionDenied(VademecumError):
    """The actor's role (or their authorship of the version) does not allow the action."""


class SignInRequired(PermissionDenied):
    """The action needs a signed-in user (or an API token) and the request named nobody: 401, not 403."""


class ConflictError(VademecumError):
    """Someone else changed the item between reading and writing it; reload and try again."""


class NotFoundError(VademecumError):
    """A requested item (article, version, user) does not exist."""


class AuthenticationError(VademecumError):
    """A sign-in or credential was refused: wrong name or password, unknown or revoked token."""


class TooManyAttempts(AuthenticationError):
    """Too many failed sign-ins for this user name or client; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ServiceBusy(VademecumError):
    """Every composition slot and queue place is taken; ``retry_after`` (seconds) is when to ask again."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
