"""Cookies the app sets: always HttpOnly and SameSite=Lax, Secure as the settings say."""

from __future__ import annotations

from fastapi import Request, Response

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
