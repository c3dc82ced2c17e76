"""The openFDA drug label API and its bulk downloads.

``<base>/drug/label.json?search=openfda.generic_name:"X"+OR+openfda.brand_name:"X"&limit=&skip=&api_key=``
answers ``{"meta": {..., "results": {"skip", "limit", "total"}}, "results": [label, ...]}``, or HTTP 404
with ``{"error": {"code": "NOT_FOUND", ...}}`` when nothing matches. ``<base>/download.json`` lists the
bulk files (``results.drug.label.partitions[].file``, zipped JSON in the same envelope). openFDA allows
240 requests a minute per client (https://open.fda.gov/apis/authentication/); a key raises the daily quota.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vademecum.errors import InvalidQueryError
from vademecum.settings import LiveSettings
from vademecum.sources.live.http import FetchError, HttpClient, Params, RateLimiter, atomic_write

REQUESTS_PER_SECOND = 240 / 60
MAX_LIMIT = 1000  # openFDA's largest page
MAX_SKIP = 25_000  # openFDA refuses larger skips (search_after paging is for bulk use: take the download files)


@dataclass(frozen=True, slots=True)
class LabelPage:
    """One API response page: its raw JSON (read by :mod:`vademecum.sources.openfda`) and the paging figures."""

    skip: int
    total: int
    count: int
    content: bytes


@dataclass(frozen=True, slots=True)
class Partition:
    """One bulk drug label file of ``download.json``."""

    url: str
    name: str
    records: int | None
    size_mb: float | None
    export_date: str | None = None

    def listing(self) -> dict[str, object]:
        """What ``download.json`` says of this file: a kept copy is current while this is unchanged."""
        return {"url": self.url, "export_date": self.export_date, "records": self.records, "size_mb": self.size_mb}


class BulkFileError(FetchError):
    """A bulk file is not a complete zip holding one JSON file, even downloaded twice; nothing is kept."""


def label_search(drug: str) -> str:
    """The ``search`` expression for a drug's labels by generic or brand name (exact field match)."""
    name = " ".join(drug.split())
    if not name or '"' in name:
        raise InvalidQueryError(f"not a drug name: {drug!r}")
    return f'openfda.generic_name:"{name}" OR openfda.brand_name:"{name}"'


class OpenFda:
    """Drug labels from openFDA, with its rate limit and optional API key."""

    def __init__(self, client: HttpClient, settings: LiveSettings) -> None:
        self._client = client
        self._base = settings.openfda_url.rstrip("/")
        self._key = settings.openfda_api_key.get_secret_value() if settings.openfda_api_key else None
        self.limiter = RateLimiter(REQUESTS_PER_SECOND)

    def label_pages(self, drug: str, *, page_size: int = 100, max_records: int | None = None) -> Iterator[LabelPage]:
        """Every page of labels naming ``drug``; nothing when openFDA has none (its 404 NOT_FOUND)."""
        limit = min(page_size, MAX_LIMIT)
        skip = 0
        while True:
            params: dict[str, str | int] = {"search": label_search(drug), "limit": limit, "skip": skip}
            response = self._client.get(
                f"{self._base}/drug/label.json",
                self._keyed(params),
                limiter=self.limiter,
                cache=True,
                ok_statuses=frozenset({404}),
            )
            payload = _envelope(response.url, response.content)
            if response.status == 404:
                if payload.get("error", {}).get("code") != "NOT_FOUND":
                    raise FetchError(response.url, f"HTTP 404: {payload.get('error')}", 404)
                return
            total = int(payload["meta"]["results"]["total"])
            count = len(payload["results"])
            yield LabelPage(skip, total, count, response.content)
            skip += count
            wanted = total if max_records is None else min(total, max_records)
            if count == 0 or skip >= wanted or skip > MAX_SKIP:
                return

    def partitions(self) -> list[Partition]:
        """The bulk drug label files listed by ``download.json`` (revalidated: a 304 reuses the cached copy)."""
        response = self._client.get(f"{self._base}/download.json", limiter=self.limiter, cache=True)
        payload = _envelope(response.url, response.content)
        try:
            label = payload["results"]["drug"]["label"]
            listed = label["partitions"]
        except (KeyError, TypeError) as error:
            raise FetchError(response.url, f"no drug label partitions in download.json ({error})") from error
        return [
            Partition(
                url=item["file"],
                name=Path(urlsplit(item["file"]).path).name,
                records=item.get("records"),
                size_mb=float(item["size_mb"]) if item.get("size_mb") else None,
                export_date=label.get("export_date"),
            )
            for item in listed
        ]

    def download_partition(
        self, partition: Partition, folder: Path, progress: Callable[[int, int | None], None] | None = None
    ) -> tuple[Path, bool]:
        """The bulk file in ``folder`` and whether it was downloaded now (False: the kept copy is current).

        A kept copy is reused while ``download.json`` lists the file unchanged (same URL, export date,
        record count and size) and the zip is whole. Otherwise the file is downloaded (resuming a cut
        transfer) and checked: a complete zip holding one JSON file whose CRCs match. A file that fails is
        deleted and downloaded once more from the start; when it fails again, :class:`BulkFileError`
        names it and nothing is kept.
        """
        dest = folder / partition.name
        listing = dest.with_name(dest.name + ".listing.json")
        if dest.exists() and _read_listing(listing) == partition.listing() and _zip_problem(dest, full=False) is None:
            return dest, False
        listing.unlink(missing_ok=True)
        for attempt in (1, 2):
            path = self._client.download(partition.url, dest, limiter=self.limiter, progress=progress)
            problem = _zip_problem(path, full=True)
            if problem is None:
                atomic_write(listing, json.dumps(partition.listing()).encode())
                return path, True
            path.unlink()
            if attempt == 2:
                raise BulkFileError(partition.url, f"{partition.name} is not a complete bulk file: {problem}")
        raise AssertionError("unreachable")

    def _keyed(self, params: dict[str, str | int]) -> Params:
        return {**params, "api_key": self._key} if self._key else params


def _envelope(url: str, content: bytes) -> dict:
    try:
        payload = json.loads(content)
    except ValueError as error:
        raise FetchError(url, f"not JSON ({error})") from error
    if not isinstance(payload, dict):
        raise FetchError(url, "not an openFDA JSON envelope")
    return payload


def _read_listing(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _zip_problem(path: Path, *, full: bool) -> str | None:
    """Why ``path`` is not a whole bulk file (a zip of one JSON file), or None; ``full`` also checks every CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != 1 or not names[0].endswith(".json"):
                return f"expected one JSON file in the zip, found {names}"
            if full and (bad := archive.testzip()) is not None:
                return f"CRC mismatch in {bad}"
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        return f"not a readable zip ({error})"
    return None
