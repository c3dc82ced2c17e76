"""NLM MEDLINE baseline and update files: listing, MD5 files, verified resumable downloads.

``<base>/baseline/`` and ``<base>/updatefiles/`` are plain directory listings (HTML) of
``pubmedYYnNNNN.xml.gz`` files, each with a ``.md5`` file beside it reading ``MD5(<name>)= <hex>``
(https://ftp.ncbi.nlm.nih.gov/pubmed/README.txt). Update files must be applied in order; their
``DeleteCitation`` elements are applied by the MEDLINE reader and the store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vademecum.errors import VademecumError
from vademecum.sources.live.http import FetchError, HttpClient, RateLimiter

FOLDERS = ("baseline", "updatefiles")
FILE_NAME = re.compile(r'href="(pubmed\d{2}n\d{4}\.xml\.gz)"')
_MD5_LINE = re.compile(r"MD5\s*\((?P<name>[^)]+)\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})")
# NCBI publishes no limit for its file server; stay at the E-utilities anonymous rate.
REQUESTS_PER_SECOND = 3.0


class ChecksumError(VademecumError):
    """A downloaded file does not match its published MD5; the file has been deleted."""


@dataclass(frozen=True, slots=True)
class NlmFile:
    """One listed MEDLINE file."""

    folder: str
    name: str
    url: str

    @property
    def md5_url(self) -> str:
        """The URL of its ``.md5`` file."""
        return self.url + ".md5"


class NlmFiles:
    """Lists and downloads the MEDLINE files under ``live.pubmed_files_url``."""

    def __init__(self, client: HttpClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self.limiter = RateLimiter(REQUESTS_PER_SECOND)

    def list(self, folder: str) -> list[NlmFile]:
        """The files of ``baseline`` or ``updatefiles``, in name order (the order they must be applied in)."""
        if folder not in FOLDERS:
            raise ValueError(f"folder must be one of {FOLDERS}")
        url = f"{self._base}/{folder}/"
        listing = self._client.get(url, limiter=self.limiter, cache=True).content.decode("utf-8", "replace")
        names = sorted(set(FILE_NAME.findall(listing)))
        return [NlmFile(folder, name, url + name) for name in names]

    def published_md5(self, file: NlmFile) -> str:
        """The MD5 the ``.md5`` file publishes for ``file``."""
        response = self._client.get(file.md5_url, limiter=self.limiter)
        match = _MD5_LINE.search(response.content.decode("ascii", "replace"))
        if match is None or match["name"].strip() != file.name:
            raise FetchError(response.url, f"not an MD5 line for {file.name}: {response.content[:120]!r}")
        return match["hex"].lower()

    def download(self, file: NlmFile, folder: Path, progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Download ``file`` into ``folder`` (resuming a cut transfer) and verify it against its MD5.

        A file that does not match is deleted and downloaded once more from the start (a transfer can
        be corrupted); when it still does not match, :class:`ChecksumError` is raised and nothing is kept.
        """
        expected = self.published_md5(file)
        dest = folder / file.name
        actual = ""
        for _ in range(2):
            if not dest.exists():
                self._client.download(file.url, dest, limiter=self.limiter, progress=progress)
            actual = file_md5(dest)
            if actual == expected:
                return dest
            dest.unlink()
        raise ChecksumError(f"{file.url}: MD5 mismatch (published {expected}, downloaded {actual}); file rejected")


def file_md5(path: Path) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
