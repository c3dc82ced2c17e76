"""A local stand-in for the public services, serving REAL files from ../shared/corpus in place.

It answers the real URL patterns, envelopes and headers of NCBI E-utilities (esearch JSON, efetch
MEDLINE XML through WebEnv/query_key), openFDA (``/drug/label.json`` with ``meta.results`` and the
404 ``NOT_FOUND`` error; ``/download.json`` listing bulk label zips built at fixture time in a temporary
folder, served from ``/drug/label/<name>.json.zip``), DailyMed (``/dailymed/services/v2/spls/{setid}.xml``)
and the NLM file server (``/pubmed/{baseline,updatefiles}/`` listings, ``.xml.gz`` files with Range support and
``.md5`` files computed at start-up). Static responses carry ETag and Last-Modified and answer a
matching ``If-None-Match`` with 304, as those servers do.

Faults are queued per path (:meth:`LiveServer.fail`) and consumed one per request: a status with
headers (429 with Retry-After, 500), or a body cut after half its bytes. Every request is recorded.

The only simplification: esearch cannot run PubMed's query engine, so it matches the words of the
query's first parenthesised part (the user's query, before the Clinical Queries filter) against the
title and abstract of the served records, and returns them in file order.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import hashlib
import json
import re
import threading
import uuid
import zipfile
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

EFETCH_HEAD = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN"'
    b' "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n<PubmedArticleSet>\n'
)
EFETCH_TAIL = b"</PubmedArticleSet>\n"


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or to) the next response of a path."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncate: bool = False  # send the real headers, then only half the body, then close


@dataclass
class LiveServer:
    """The server's state: what it serves, the queued faults, and every request seen."""

    base_url: str = ""
    seen: list[Seen] = field(default_factory=list)
    articles: dict[str, bytes] = field(default_factory=dict)  # PMID -> <PubmedArticle> bytes, file order
    texts: dict[str, str] = field(default_factory=dict)  # PMID -> title and abstract, for esearch
    labels: list[dict[str, Any]] = field(default_factory=list)  # openFDA results[] records
    spl_files: dict[str, Path] = field(default_factory=dict)  # set id -> SPL file
    bulk_files: dict[str, Path] = field(default_factory=dict)  # bulk zip name -> zip in a temp folder, in order
    bulk_records: dict[str, int] = field(default_factory=dict)  # bulk zip name -> labels in it
    bulk_export_date: str = "2024-06-04"
    nlm_files: dict[str, dict[str, Path]] = field(default_factory=lambda: {"baseline": {}, "updatefiles": {}})
    md5_override: dict[str, str] = field(default_factory=dict)
    histories: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, path: str, *faults: Fault) -> None:
        """Queue faults for the next requests of ``path``."""
        self.faults[path].extend(faults)

    def requests_to(self, path: str) -> list[Seen]:
        """The requests received for ``path``."""
        return [seen for seen in self.seen if seen.path == path]

    def serve_pubmed(self, path: Path) -> None:
        """Serve the PubmedArticle records of a real MEDLINE file through esearch/efetch."""
        with gzip.open(path) as handle:
            for _, element in etree.iterparse(handle, tag="PubmedArticle"):
                pmid = element.findtext("MedlineCitation/PMID")
                self.articles[pmid] = etree.tostring(element)
                self.texts[pmid] = " ".join(
                    element.xpath("string(.//ArticleTitle)").split()
                    + [" ".join(text.split()) for text in element.xpath(".//AbstractText//text()")]
                ).lower()

    def serve_bulk_labels(self, folder: Path, partitions: list[list[dict[str, Any]]]) -> None:
        """Build one bulk zip per list of openFDA records in ``folder`` (a temp dir), named as openFDA names them."""
        for number, records in enumerate(partitions, start=1):
            name = f"drug-label-{number:04d}-of-{len(partitions):04d}.json"
            envelope = {
                "meta": {
                    "disclaimer": "Do not rely on openFDA to make decisions regarding medical care. ...",
                    "terms": "https://open.fda.gov/terms/",
                    "license": "https://open.fda.gov/license/",
                    "last_updated": self.bulk_export_date,
                    "results": {"skip": 0, "limit": len(records), "total": len(records)},
                },
                "results": records,
            }
            path = folder / f"{name}.zip"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(name, json.dumps(envelope, indent=2))
            self.bulk_files[path.name] = path
            self.bulk_records[path.name] = len(records)

    # ---- routes ------------------------------------------------------------------------------

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path == "/entrez/eutils/esearch.fcgi":
            return self._esearch(params)
        if path == "/entrez/eutils/efetch.fcgi":
            return self._efetch(params)
        if path == "/drug/label.json":
            return self._labels(params)
        if path == "/download.json":
            return self._download_json(headers)
        if match := re.fullmatch(r"/drug/label/([^/]+\.json\.zip)", path):
            file = self.bulk_files.get(match[1])
            if file is None:
                return 404, {"Content-Type": "application/xml"}, b"<Error><Code>NoSuchKey</Code></Error>"
            return _static(file.read_bytes(), file, "application/zip", headers)
        if match := re.fullmatch(r"/dailymed/services/v2/spls/([0-9a-f-]+)\.xml", path):
            file = self.spl_files.get(match[1])
            if file is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"
            return _static(file.read_bytes(), file, "text/xml", headers)
        if match := re.fullmatch(r"/pubmed/(baseline|updatefiles)/(.*)", path):
            return self._nlm(match[1], match[2], headers)
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _esearch(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        term = params["term"]
        query = term[1:].split(")")[0] if term.startswith("(") else term
        words = query.lower().split()
        ids = [pmid for pmid, text in self.texts.items() if all(word in text for word in words)]
        webenv = f"MCID_{uuid.uuid4().hex}"
        self.histories[webenv] = ids
        retmax = int(params.get("retmax", 20))
        body = {
            "header": {"type": "esearch", "version": "0.3"},
            "esearchresult": {
                "count": str(len(ids)),
                "retmax": str(min(retmax, len(ids))),
                "retstart": "0",
                "querykey": "1",
                "webenv": webenv,
                "idlist": ids[:retmax],
                "translationset": [],
                "querytranslation": term,
            },
        }
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()

    def _efetch(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        ids = self.histories.get(params.get("WebEnv", ""))
        if ids is None or params.get("query_key") != "1":
            return (
                400,
                {"Content-Type": "text/xml"},
                b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>",
            )
        start, count = int(params.get("retstart", 0)), int(params.get("retmax", 20))
        body = EFETCH_HEAD + b"\n".join(self.articles[pmid] for pmid in ids[start : start + count]) + EFETCH_TAIL
        return 200, {"Content-Type": "text/xml; charset=UTF-8"}, body

    def _labels(self, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        names = {name.lower() for name in re.findall(r'openfda\.(?:generic|brand)_name:"([^"]+)"', params["search"])}
        found = [
            label
            for label in self.labels
            if names & {n.lower() for n in label["openfda"]["generic_name"] + label["openfda"]["brand_name"]}
        ]
        if not found:
            body = {"error": {"code": "NOT_FOUND", "message": "No matches found!"}}
            return 404, {"Content-Type": "application/json"}, json.dumps(body).encode()
        skip, limit = int(params.get("skip", 0)), int(params.get("limit", 1))
        body = {
            "meta": {
                "disclaimer": "Do not rely on openFDA to make decisions regarding medical care. ...",
                "terms": "https://open.fda.gov/terms/",
                "license": "https://open.fda.gov/license/",
                "last_updated": "2024-06-04",
                "results": {"skip": skip, "limit": limit, "total": len(found)},
            },
            "results": found[skip : skip + limit],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _download_json(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """``download.json`` as api.fda.gov shapes it, listing the drug label bulk files."""
        partitions = [
            {
                "display_name": f"{self.bulk_export_date} (part {number} of {len(self.bulk_files)})",
                "file": f"{self.base_url}/drug/label/{name}",
                "size_mb": f"{file.stat().st_size / 1e6:.2f}",
                "records": self.bulk_records[name],
            }
            for number, (name, file) in enumerate(self.bulk_files.items(), start=1)
        ]
        body = {
            "meta": {
                "disclaimer": "Do not rely on openFDA to make decisions regarding medical care. ...",
                "terms": "https://open.fda.gov/terms/",
                "license": "https://open.fda.gov/license/",
                "last_updated": self.bulk_export_date,
            },
            "results": {
                "drug": {
                    "label": {
                        "total_records": sum(self.bulk_records.values()),
                        "export_date": self.bulk_export_date,
                        "partitions": partitions,
                    }
                }
            },
        }
        newest = max((file for file in self.bulk_files.values()), key=lambda file: file.stat().st_mtime, default=None)
        if newest is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return _static(json.dumps(body).encode(), newest, "application/json", headers)

    def _nlm(self, folder: str, name: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        files = self.nlm_files[folder]
        if name == "":
            links = "".join(
                f'<a href="{n}">{n}</a>   2024-01-01 12:00  1.2M\n<a href="{n}.md5">{n}.md5</a>   60\n'
                for n in sorted(files)
            )
            listing = (
                f"<html><head><title>Index of /pubmed/{folder}</title></head><body><pre>{links}</pre></body></html>"
            )
            return 200, {"Content-Type": "text/html"}, listing.encode()
        if name.endswith(".md5") and name[:-4] in files:
            target = name[:-4]
            digest = self.md5_override.get(target) or hashlib.md5(files[target].read_bytes()).hexdigest()
            return 200, {"Content-Type": "text/plain"}, f"MD5({target})= {digest}\n".encode()
        if name in files:
            return _static(files[name].read_bytes(), files[name], "application/x-gzip", headers)
        return 404, {"Content-Type": "text/plain"}, b"not found"


def _static(body: bytes, file: Path, content_type: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A file response with validators, 304 on a matching If-None-Match, 206 on a Range request."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    modified = email.utils.format_datetime(dt.datetime.fromtimestamp(file.stat().st_mtime, dt.UTC), usegmt=True)
    common = {"ETag": etag, "Last-Modified": modified, "Accept-Ranges": "bytes"}
    if headers.get("if-none-match") == etag:
        return 304, common, b""
    if match := re.fullmatch(r"bytes=(\d+)-", headers.get("range", "")):
        start = int(match[1])
        if start >= len(body):
            return 416, {**common, "Content-Range": f"bytes */{len(body)}"}, b""
        part = body[start:]
        return (
            206,
            {**common, "Content-Type": content_type, "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"},
            part,
        )
    return 200, {**common, "Content-Type": content_type}, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        headers = {key.lower(): value for key, value in self.headers.items()}
        with state.lock:
            state.seen.append(Seen(url.path, params, headers))
            queue = state.faults.get(url.path)
            fault = queue.popleft() if queue else None
        if fault is not None and fault.status is not None:
            self._send(fault.status, {"Content-Type": "text/plain", **fault.headers}, fault.body)
            return
        status, response_headers, body = state.route(url.path, params, headers)
        if fault is not None and fault.truncate:
            self.send_response(status)
            for key, value in {**response_headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, response_headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: LiveServer


def run_server(state: LiveServer) -> Iterator[LiveServer]:
    """Serve ``state`` on 127.0.0.1 (a free port) in a thread until the generator is closed."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
