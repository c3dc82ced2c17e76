"""The one HTTP client of the live connectors: rate limits, retries, an on-disk validating cache, resumable downloads.

- Rate limits are per service (:class:`RateLimiter`), because NCBI and openFDA count requests per client
  and key, whatever host name serves them.
- A request is retried on 429 (waiting what ``Retry-After`` says), on 5xx, on network errors and on a
  body shorter than its ``Content-Length``, with exponential backoff and jitter, up to
  ``live.max_attempts``; then :class:`FetchError` names the URL and the last failure.
- Cached responses live under ``<home>/http-cache``: a body file and a metadata file, each written to a
  temporary file and renamed, so a crash never leaves a half-written entry. A cached entry is revalidated
  with ``If-None-Match``/``If-Modified-Since``; a 304 serves the cached body.
- :meth:`HttpClient.download` streams a large file to ``<dest>.part`` and resumes a cut transfer with a
  ``Range`` request.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import httpx

from vademecum import __version__
from vademecum.errors import VademecumError
from vademecum.settings import LiveSettings

USER_AGENT = f"Vademecum/{__version__} (open clinical evidence engine; +https://github.com/vademecum)"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Query parameters that are credentials: never part of a cache file or an error message.
SECRET_PARAMS = frozenset({"api_key"})

Params = Mapping[str, str | int]
T = TypeVar("T")


class FetchError(VademecumError):
    """A request failed for good (after its retries, or with a status that retrying cannot fix); names the URL."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}")


class _Retryable(Exception):
    """One attempt failed in a way worth trying again; ``wait`` is what the server asked for, if anything."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        self.wait = wait
        super().__init__(message)


class RateLimiter:
    """At most ``rate`` requests per second, spaced evenly; safe to share between threads."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass(frozen=True, slots=True)
class Response:
    """A successful response's body, with where it came from."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    from_cache: bool = False

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.content)


def public_url(url: str, params: Params | None = None) -> str:
    """``url`` with its query, credentials left out: what errors, logs and cache metadata may show."""
    shown = {key: value for key, value in (params or {}).items() if key not in SECRET_PARAMS}
    return f"{url}?{urlencode(shown)}" if shown else url


class HttpClient:
    """Synchronous HTTP for the connectors; one per command run. Use as a context manager."""

    def __init__(
        self,
        settings: LiveSettings,
        cache_dir: Path,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._sleep = sleep
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=settings.timeout_seconds,
            follow_redirects=True,
            transport=transport,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(
        self,
        url: str,
        params: Params | None = None,
        *,
        limiter: RateLimiter | None = None,
        cache: bool = False,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> Response:
        """GET ``url`` with retries; with ``cache`` revalidate and reuse a stored copy.

        A status in ``ok_statuses`` (e.g. openFDA's 404 "no matches") is returned rather than raised.
        Raises :class:`FetchError` on any other 4xx, or when every attempt failed.
        """
        shown = public_url(url, params)
        entry = _CacheEntry(self.cache_dir, shown) if cache else None
        cached = entry.load() if entry else None

        def attempt() -> Response:
            headers = cached.validators() if cached else {}
            if limiter:
                limiter.wait()
            response = self._client.get(url, params=params, headers=headers)
            if response.status_code == 304 and cached is not None:
                return Response(shown, 200, cached.content, cached.headers, from_cache=True)
            _raise_if_retryable(response)
            _check_length(response)
            if response.status_code >= 400 and response.status_code not in ok_statuses:
                raise FetchError(
                    shown, f"HTTP {response.status_code}: {_snippet(response.content)}", response.status_code
                )
            result = Response(shown, response.status_code, response.content, dict(response.headers))
            if entry is not None and response.status_code == 200:
                entry.store(result)
            return result

        return self._with_retries(shown, attempt)

    def download(
        self,
        url: str,
        dest: Path,
        *,
        limiter: RateLimiter | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """Stream ``url`` into ``dest`` (via ``dest.part``), resuming a cut transfer with a Range request.

        ``progress(done, total)`` is called as bytes arrive. The file appears at ``dest`` only when
        complete. Raises :class:`FetchError` when every attempt failed (the partial file is kept for
        the next run to resume).
        """
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)

        def attempt() -> Path:
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            if limiter:
                limiter.wait()
            try:
                with self._client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 416 and have:
                        # Our partial copy is as long as the file (or longer): start again.
                        part.unlink()
                        raise _Retryable("range not satisfiable; restarting the download")
                    _raise_if_retryable(response)
                    if response.status_code >= 400:
                        raise FetchError(url, f"HTTP {response.status_code}", response.status_code)
                    resumed = response.status_code == 206
                    total = _total_size(response, have if resumed else 0)
                    done = have if resumed else 0
                    with part.open("ab" if resumed else "wb") as out:
                        for chunk in response.iter_raw():  # no chunk_size: a re-chunking buffer would lose a cut tail
                            out.write(chunk)
                            done += len(chunk)
                            if progress:
                                progress(done, total)
            except (httpx.TransportError, httpx.StreamError) as error:
                raise _Retryable(f"transfer interrupted ({type(error).__name__}: {error})") from error
            if total is not None and done != total:
                raise _Retryable(f"incomplete body: {done:,} of {total:,} bytes")
            os.replace(part, dest)
            return dest

        return self._with_retries(url, attempt)

    def _with_retries(self, url: str, attempt: Callable[[], T]) -> T:
        attempts = self.settings.max_attempts
        for number in range(1, attempts + 1):
            try:
                return attempt()
            except httpx.TransportError as error:
                failure = _Retryable(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
            except _Retryable as retryable:
                failure = retryable
            if number == attempts:
                break
            self._sleep(self._delay(number, failure.wait))
        raise FetchError(url, f"gave up after {attempts} attempts; last: {failure}")

    def _delay(self, attempt: int, asked: float | None) -> float:
        cap = self.settings.max_backoff_seconds
        if asked is not None:
            return min(asked, cap)
        base = self.settings.backoff_seconds * 2 ** (attempt - 1)
        # Full jitter on top of the exponential base, so clients that failed together do not retry together.
        return min(base + random.uniform(0, base), cap)


def _raise_if_retryable(response: httpx.Response) -> None:
    if response.status_code in RETRYABLE_STATUS:
        if not response.is_stream_consumed:
            response.read()
        raise _Retryable(
            f"HTTP {response.status_code}: {_snippet(response.content)}",
            _retry_after(response.headers.get("Retry-After")) if response.status_code in (429, 503) else None,
        )


def _check_length(response: httpx.Response) -> None:
    # httpx reports a connection closed early as a transport error; this also catches a proxy that
    # closed cleanly after sending fewer bytes than it announced.
    declared = response.headers.get("Content-Length")
    if declared and "Content-Encoding" not in response.headers and len(response.content) != int(declared):
        raise _Retryable(f"truncated body: {len(response.content):,} of {int(declared):,} bytes")


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _total_size(response: httpx.Response, offset: int) -> int | None:
    if response.status_code == 206:
        content_range = response.headers.get("Content-Range", "")  # "bytes 100-199/200"
        total = content_range.rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


def _snippet(content: bytes, limit: int = 200) -> str:
    text = content[:limit].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "(empty body)"


@dataclass(frozen=True, slots=True)
class _Cached:
    content: bytes
    headers: Mapping[str, str]

    def validators(self) -> dict[str, str]:
        found = {}
        if etag := self.headers.get("etag"):
            found["If-None-Match"] = etag
        if modified := self.headers.get("last-modified"):
            found["If-Modified-Since"] = modified
        return found


class _CacheEntry:
    """One cached response: ``<key>.body`` and ``<key>.json`` (URL, validators, body digest)."""

    def __init__(self, cache_dir: Path, url: str) -> None:
        key = hashlib.sha256(url.encode()).hexdigest()
        self.url = url
        self.body = cache_dir / f"{key}.body"
        self.meta = cache_dir / f"{key}.json"

    def load(self) -> _Cached | None:
        try:
            meta = json.loads(self.meta.read_text())
            content = self.body.read_bytes()
        except (OSError, ValueError):
            return None
        # The body is renamed into place before its metadata, but a body replaced by a newer one whose
        # metadata was never written must not be served under the old validators.
        if meta.get("url") != self.url or hashlib.sha256(content).hexdigest() != meta.get("sha256"):
            return None
        return _Cached(content, {key.lower(): value for key, value in meta["headers"].items()})

    def store(self, response: Response) -> None:
        headers = {key.lower(): value for key, value in response.headers.items()}
        kept = {key: headers[key] for key in ("etag", "last-modified", "content-type") if key in headers}
        if "etag" not in kept and "last-modified" not in kept:
            return  # nothing to revalidate with: a stored copy could never be reused safely
        atomic_write(self.body, response.content)
        meta = {"url": self.url, "sha256": hashlib.sha256(response.content).hexdigest(), "headers": kept}
        atomic_write(self.meta, json.dumps(meta).encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(data)
        temporary = Path(handle.name)
    os.replace(temporary, path)
