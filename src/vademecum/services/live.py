"""Live service: fetch from the public services and ingest what was fetched; keep the store current.

Every function here needs network access, which is off by default: the ``live.enabled`` setting or
the caller's explicit ``allow_network`` must say yes. What is fetched is written to files under
``<home>/live/`` (each written whole, then renamed into place) and ingested through
:func:`vademecum.services.ingest.ingest_paths`, so the usual guarantees hold: one transaction per file,
re-ingesting the same bytes changes nothing, a bad file is reported with its name and stores nothing,
and a run that changed documents ends with the freshness check of approved articles.

What was applied is the store's own record: an NLM file counts as applied once a
:class:`~vademecum.evidence.models.SourceFile` row carries its name.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import select

from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument, SourceFile
from vademecum.services.ingest import IngestObserver, IngestReport, ingest_paths
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.sources.live.dailymed import DailyMed
from vademecum.sources.live.http import FetchError, HttpClient, atomic_write
from vademecum.sources.live.ncbi import EUtils, build_term
from vademecum.sources.live.nlm_files import ChecksumError, NlmFiles
from vademecum.sources.live.openfda import OpenFda

NETWORK_OFF = "network access is off: set VADEMECUM_LIVE__ENABLED=true or pass --allow-network"
SPL_PREFIX = "spl:"


class LiveObserver(IngestObserver, Protocol):
    """Progress of a fetch or update: what is being fetched, then the ingest of it."""

    def fetch_started(self, what: str, total: int | None) -> None:
        """A fetch stage begins (``total`` items, when known)."""

    def fetched(self, name: str) -> None:
        """One item of the current stage was fetched (or found unchanged)."""


@dataclass
class FetchReport:
    """What a fetch did: how many records the service matched, the files written, and their ingest."""

    matched: int
    files: list[Path] = field(default_factory=list)
    ingest: IngestReport | None = None
    downloaded: int = 0  # bulk files downloaded by this run (the others were kept copies, still current)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed, in fetching or in ingesting."""
        return not self.problems and (self.ingest is None or self.ingest.ok)


@dataclass
class UpdateReport:
    """What an update did: NLM files applied, labels checked, problems met, and the ingest run."""

    nlm_applied: list[str] = field(default_factory=list)
    nlm_already_applied: int = 0
    labels_checked: int = 0
    problems: list[str] = field(default_factory=list)
    ingest: IngestReport | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed, in fetching or in ingesting."""
        return not self.problems and (self.ingest is None or self.ingest.ok)


def require_network(settings: Settings, allow_network: bool) -> None:
    """Raise unless the ``live`` setting or the caller allows network access."""
    if not (settings.live.enabled or allow_network):
        raise VademecumError(NETWORK_OFF)


def open_client(settings: Settings) -> HttpClient:
    """The HTTP client of a live command, caching under ``<home>/http-cache``."""
    return HttpClient(settings.live, settings.home / "http-cache")


def fetch_pubmed(
    runtime: Runtime,
    query: str,
    *,
    clinical_filter: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    max_records: int | None = None,
    allow_network: bool = False,
    observer: LiveObserver | None = None,
) -> FetchReport:
    """Search PubMed, fetch the matching records as MEDLINE XML in batches, and ingest them.

    Nothing is ingested unless every batch arrived; a batch that is not valid MEDLINE XML is reported
    by the ingest with its file name and stores nothing.
    """
    settings = runtime.settings
    require_network(settings, allow_network)
    term = build_term(query, clinical_filter)
    folder = settings.home / "live" / "pubmed"
    batch = settings.live.pubmed_batch_size
    with open_client(settings) as client:
        eutils = EUtils(client, settings.live)
        search = eutils.esearch(term, mindate=since, maxdate=until, retmax=max_records or batch)
        report = FetchReport(matched=search.count)
        wanted = min(search.count, max_records) if max_records is not None else search.count
        if observer:
            observer.fetch_started("fetching PubMed records", math.ceil(wanted / batch))
        for start, body in eutils.efetch_batches(search, batch_size=batch, max_records=max_records):
            path = folder / f"efetch-{hashlib.sha256(body).hexdigest()[:16]}.xml"
            atomic_write(path, body)
            report.files.append(path)
            if observer:
                observer.fetched(f"records {start + 1:,}-{start + batch:,}")
    if report.files:
        report.ingest = ingest_paths(runtime, report.files, observer)
    return report


def fetch_labels(
    runtime: Runtime, drug: str, *, allow_network: bool = False, observer: LiveObserver | None = None
) -> FetchReport:
    """Fetch every openFDA label whose generic or brand name is ``drug``, and ingest them."""
    settings = runtime.settings
    require_network(settings, allow_network)
    folder = settings.home / "live" / "openfda"
    report = FetchReport(matched=0)
    with open_client(settings) as client:
        if observer:
            observer.fetch_started(f"fetching labels of {drug}", None)
        for page in OpenFda(client, settings.live).label_pages(drug):
            report.matched = page.total
            path = folder / f"{_slug(drug)}-{hashlib.sha256(page.content).hexdigest()[:16]}.json"
            atomic_write(path, page.content)
            report.files.append(path)
            if observer:
                observer.fetched(f"labels {page.skip + 1}-{page.skip + page.count} of {page.total}")
    if report.files:
        report.ingest = ingest_paths(runtime, report.files, observer)
    return report


def fetch_labels_bulk(
    runtime: Runtime, *, allow_network: bool = False, observer: LiveObserver | None = None
) -> FetchReport:
    """Download every openFDA drug label bulk file listed by ``download.json`` and ingest them.

    Files are kept under ``<home>/live/openfda/bulk``; a re-run downloads only those ``download.json``
    lists differently and ingests only changed bytes. A file that is not a complete zip, even downloaded
    twice, is reported by name and ingested not at all; the other files still are.
    """
    settings = runtime.settings
    require_network(settings, allow_network)
    folder = settings.home / "live" / "openfda" / "bulk"
    with open_client(settings) as client:
        openfda = OpenFda(client, settings.live)
        partitions = openfda.partitions()
        report = FetchReport(matched=sum(partition.records or 0 for partition in partitions))
        if observer:
            observer.fetch_started("downloading openFDA label files", len(partitions))
        for partition in partitions:
            try:
                path, downloaded = openfda.download_partition(partition, folder)
            except FetchError as error:  # the partitions are independent: the others are still applied
                report.problems.append(str(error))
                continue
            report.files.append(path)
            report.downloaded += downloaded
            if observer:
                observer.fetched(f"{'downloaded' if downloaded else 'unchanged'} {partition.name}")
    if report.files:
        report.ingest = ingest_paths(runtime, report.files, observer)
    return report


def update(
    runtime: Runtime,
    *,
    include_baseline: bool = False,
    allow_network: bool = False,
    observer: LiveObserver | None = None,
) -> UpdateReport:
    """Bring the store up to date: NLM files not yet applied (update files; baseline too when asked),
    in order, each verified against its MD5, and the current DailyMed version of every stored label.

    Idempotent and safe from cron: a lock file under the data directory keeps two runs apart, applied
    files are never fetched again, and unchanged labels cost one revalidation (HTTP 304) each.
    """
    settings = runtime.settings
    require_network(settings, allow_network)
    report = UpdateReport()
    with _update_lock(settings.home / "live" / "update.lock"), open_client(settings) as client:
        files = _fetch_nlm_files(
            runtime, NlmFiles(client, settings.live.pubmed_files_url), include_baseline, report, observer
        )
        files += _fetch_labels_in_store(runtime, DailyMed(client, settings.live), report, observer)
    if files:
        outcomes = _OutcomeRecorder(observer)
        report.ingest = ingest_paths(runtime, files, outcomes)
        for path in files:
            # Applied NLM files are remembered by the store; their bytes are not needed any more.
            if path.parent.parent.name == "nlm" and outcomes.outcome.get(path) in {"ingested", "unchanged"}:
                path.unlink()
    return report


def applied_nlm_files(runtime: Runtime, names: list[str]) -> set[str]:
    """Those of ``names`` (NLM file names) that an earlier ingest has applied."""
    if not names:
        return set()
    with runtime.session() as session:
        # Source files are counted in thousands, not millions: filter their names here.
        paths = session.scalars(select(SourceFile.path).where(SourceFile.path.like("%.xml.gz"))).all()
    stored = {Path(path).name for path in paths}
    return {name for name in names if name in stored}


def _fetch_nlm_files(
    runtime: Runtime, nlm: NlmFiles, include_baseline: bool, report: UpdateReport, observer: LiveObserver | None
) -> list[Path]:
    fetched: list[Path] = []
    for folder in ("baseline", "updatefiles") if include_baseline else ("updatefiles",):
        listed = nlm.list(folder)
        applied = applied_nlm_files(runtime, [file.name for file in listed])
        pending = [file for file in listed if file.name not in applied]
        report.nlm_already_applied += len(applied)
        if observer:
            observer.fetch_started(f"downloading NLM {folder}", len(pending))
        for file in pending:
            try:
                fetched.append(nlm.download(file, runtime.settings.home / "live" / "nlm" / folder))
            except (ChecksumError, FetchError) as error:
                # Later files may revise records of this one: stop here and apply the ones before it.
                report.problems.append(str(error))
                break
            report.nlm_applied.append(file.name)
            if observer:
                observer.fetched(file.name)
    return fetched


def _fetch_labels_in_store(
    runtime: Runtime, dailymed: DailyMed, report: UpdateReport, observer: LiveObserver | None
) -> list[Path]:
    with runtime.session() as session:
        set_ids = [
            document_id.removeprefix(SPL_PREFIX)
            for document_id in session.scalars(
                select(EvidenceDocument.id)
                .where(EvidenceDocument.kind == "drug_label", EvidenceDocument.id.startswith(SPL_PREFIX))
                .order_by(EvidenceDocument.id)
            )
        ]
    if observer:
        observer.fetch_started("refreshing drug labels from DailyMed", len(set_ids))
    fetched: list[Path] = []
    for set_id in set_ids:
        try:
            response = dailymed.spl(set_id)
        except VademecumError as error:  # a withdrawn label (404) or a failing service: the others still refresh
            report.problems.append(str(error))
            continue
        path = runtime.settings.home / "live" / "dailymed" / f"{set_id}.xml"
        if not (path.exists() and path.read_bytes() == response.content):
            atomic_write(path, response.content)
        fetched.append(path)
        report.labels_checked += 1
        if observer:
            observer.fetched(set_id)
    return fetched


class _OutcomeRecorder:
    """Passes ingest progress on and remembers each file's outcome."""

    def __init__(self, observer: IngestObserver | None) -> None:
        self._observer = observer
        self.outcome: dict[Path, str] = {}

    def files_found(self, total: int) -> None:
        if self._observer:
            self._observer.files_found(total)

    def file_done(self, path: Path, outcome: str, records: int) -> None:
        self.outcome[path] = outcome
        if self._observer:
            self._observer.file_done(path, outcome, records)


@contextmanager
def _update_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VademecumError(f"another `vademecum update` is running (lock held on {path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "drug"
