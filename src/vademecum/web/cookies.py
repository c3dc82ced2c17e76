"""Cookies the app sets: always HttpOnly and SameSite=Lax, Secure as the settings say."""

from __future__ import annotations

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vademecum.settings import WebSettings


def secure(request: Request, web: WebSettings) -> bool:
    """Whether cookies must be Secure: always, never, or when this request came over HTTPS."""
    if web.secure_cookies == "auto":
        return request.url.scheme == "https"
    return web.secure_cookies == "always"


def set_cookie(
    response: Response, request: Request, web: WebSettings, name: str, value: str, *, max_age: int | None
) -> None:
    """Set cookie ``name``; ``max_age`` None makes it last as long as the browser session."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request, web), path="/"
    )


def delete_cookie(response: Response, request: Request, web: WebSettings, name: str) -> None:
    """Remove cookie ``name`` (with the same attributes it was set with)."""
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure(request, web), path="/")


class StateCookieMiddleware:
    """Sets cookie ``name`` on a response whose request left a value for it in ``request.state.<state_key>``
    (a page that rendered a form for an anonymous visitor made a CSRF token the browser must keep).

    Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which wraps every response in a stream and
    task of its own: that cost a twentieth of a read's time under load.
    """

    def __init__(self, app: ASGIApp, *, web: WebSettings, name: str, state_key: str) -> None:
        self.app = app
        self.web = web
        self.name = name
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the cookie to the response's start message when one was made."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            value = scope.get("state", {}).get(self.state_key)
            if message["type"] == "http.response.start" and value is not None:
                carrier = Response()
                set_cookie(carrier, Request(scope), self.web, self.name, value, max_age=None)
                cookies = [(key, header) for key, header in carrier.raw_headers if key == b"set-cookie"]
                message = {**message, "headers": [*message.get("headers", []), *cookies]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
