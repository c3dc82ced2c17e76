"""A client of the OpenAI chat-completions protocol (vLLM, llama.cpp's server, Ollama all speak it).

One request per summary, no retries: a summary is optional, and a slow or failing server must not hold
up the article. Every failure becomes :class:`ModelUnavailable` with a sentence saying what happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from vademecum.errors import VademecumError
from vademecum.settings import SynthesisSettings

COMPLETIONS_PATH = "/chat/completions"


class ModelUnavailable(VademecumError):
    """The model server gave no usable answer: not configured, unreachable, too slow, an error or garbage."""


def complete(settings: SynthesisSettings, messages: Sequence[dict[str, str]]) -> str:
    """The text of the model's answer to ``messages``; raises ModelUnavailable saying why there is none."""
    if not settings.base_url:
        raise ModelUnavailable(
            "no model endpoint is configured (set synthesis.base_url, e.g. VADEMECUM_SYNTHESIS__BASE_URL)"
        )
    url = settings.base_url.rstrip("/") + COMPLETIONS_PATH
    headers = {"Accept": "application/json"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    body = {
        "model": settings.model,
        "messages": list(messages),
        "temperature": 0,
        "max_tokens": settings.max_tokens,
        "stream": False,
    }
    timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
    where = settings.endpoint_name
    try:
        # httpx's read timeout bounds each wait for bytes; the deadline bounds the whole answer, so a
        # server that trickles bytes cannot hold the article up either.
        deadline = time.monotonic() + settings.timeout_seconds
        with (
            httpx.Client(timeout=timeout, trust_env=False) as client,
            client.stream("POST", url, json=body, headers=headers) as response,
        ):
            raw = _read_bounded(response, settings.max_response_bytes, deadline)
    except httpx.TimeoutException as error:
        raise ModelUnavailable(
            f"the model server at {where} did not answer within {settings.timeout_seconds:g} s"
        ) from error
    except httpx.HTTPError as error:
        raise ModelUnavailable(f"the model server at {where} could not be reached: {type(error).__name__}") from error
    if response.status_code != httpx.codes.OK:
        raise ModelUnavailable(f"the model server at {where} answered HTTP {response.status_code}")
    return _content(raw, where)


def _read_bounded(response: httpx.Response, limit: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ModelUnavailable(f"the model server at {response.url.host} sent more than {limit} bytes")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took longer than the deadline", request=response.request)
        chunks.append(chunk)
    return b"".join(chunks)


def _content(raw: bytes, where: str | None) -> str:
    """The first choice's message text of a chat-completions response body."""
    try:
        data: Any = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ModelUnavailable(f"the model server at {where} sent no chat completion") from error
    if not isinstance(content, str) or not content.strip():
        raise ModelUnavailable(f"the model server at {where} sent an empty answer")
    return content
