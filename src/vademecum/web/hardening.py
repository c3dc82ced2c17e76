"""Defences every response shares: request body limits, security headers, and validation errors that
never fail to encode.

- **Body limits.** A request body is refused with 413 once it is known to be larger than the limit for
  its type (``web.max_json_body_bytes``, ``web.max_form_body_bytes``): at once when its Content-Length
  says so, else as soon as the streamed chunks pass it, so no route ever holds more than the limit in
  memory. The refusal is raised when the app reads the body, so it goes through the app's own error
  handlers (JSON for the API, the error page for pages).
- **Headers.** A Content-Security-Policy that allows scripts, styles and images from this site only
  (no inline script or style: the templates have none) and no framing, with X-Frame-Options for older
  browsers, X-Content-Type-Options and a Referrer-Policy that keeps article addresses on this site.
- **Validation errors.** FastAPI's default 422 echoes the offending input; a JSON string with a lone
  surrogate cannot be encoded to UTF-8, so echoing it turned a 422 into a 500. The errors here name the
  field and the reason only, with any text the client chose (a dict key in ``loc``) made encodable.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class BodyTooLarge(HTTPException):
    """A request body over the limit for its content type (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes for its type")


class BodyLimitMiddleware:
    """Refuses request bodies over the limit for their content type, before they are read whole."""

    def __init__(self, app: ASGIApp, *, json_bytes: int, form_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.form_bytes = form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a ``receive`` that raises :class:`BodyTooLarge` past the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # Only forms may be large; anything else (JSON, or a type no route reads) gets the small limit.
        limit = self.form_bytes if headers.get("content-type", "").startswith(FORM_TYPES) else self.json_bytes
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if too_large:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as error:
            # Read outside the app's error handlers (e.g. by a middleware): answer here if still possible.
            if started:
                raise
            await JSONResponse({"detail": error.detail}, status_code=413)(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def encodable(text: str) -> str:
    """``text`` with anything UTF-8 cannot encode (lone surrogates) replaced by U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Where and why the request was refused, without the refused input (FastAPI's ``ValidationError`` schema)."""
    return [
        {
            "loc": [part if isinstance(part, int) else encodable(str(part)) for part in item["loc"]],
            "msg": encodable(str(item["msg"])),
            "type": str(item["type"]),
        }
        for item in error.errors()
    ]


def in_path(error: RequestValidationError) -> bool:
    """Whether a path parameter was refused (an id that cannot name anything: "not found" for a page)."""
    return any(item["loc"][:1] == ("path",) for item in error.errors())


def describe_refusals(schema: dict[str, Any]) -> dict[str, Any]:
    """The published OpenAPI with the 422 body as the app sends it, so clients (and a fuzzer) can rely on it.

    FastAPI describes 422 as its own validation errors only (a list of ``{loc, msg, type}``); the service's
    refusals of well-formed input (an empty search, a question that is not clinical, a refused character)
    are 422 too, with one sentence as ``detail``. Changes ``schema`` in place and returns it.
    """
    error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
    if error is not None and "anyOf" not in error["properties"]["detail"]:
        listed = {key: value for key, value in error["properties"]["detail"].items() if key != "title"}
        error["properties"]["detail"] = {
            "title": "Detail",
            "description": "Why the input was refused: the fields that failed validation, or one sentence.",
            "anyOf": [listed, {"type": "string"}],
        }
    return schema
