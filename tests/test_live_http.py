"""The live connectors' HTTP client against a local server: retries, cache validation, rate limits,
resumed downloads and MD5 checks, on real corpus files."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_server import Fault, LiveServer, run_server
from vademecum.settings import LiveSettings
from vademecum.sources.live.dailymed import DailyMed
from vademecum.sources.live.http import FetchError, HttpClient, RateLimiter
from vademecum.sources.live.nlm_files import ChecksumError, NlmFiles

HUMIRA = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
UPDATE_FILE = "pubmed21n1003.xml.gz"


@pytest.fixture
def server(corpus_dir: Path) -> Iterator[LiveServer]:
    state = LiveServer()
    state.spl_files[HUMIRA] = corpus_dir / "labels/spl/humira.xml"
    state.nlm_files["updatefiles"][UPDATE_FILE] = corpus_dir / "pubmed/pubmedparser-pubmed21n1003.xml.gz"
    yield from run_server(state)


@pytest.fixture
def live(server: LiveServer) -> LiveSettings:
    return LiveSettings(
        dailymed_url=f"{server.base_url}/dailymed",
        pubmed_files_url=f"{server.base_url}/pubmed",
        max_attempts=4,
        backoff_seconds=0.01,
    )


@pytest.fixture
def client(live: LiveSettings, tmp_path: Path) -> Iterator[HttpClient]:
    with HttpClient(live, tmp_path / "http-cache") as client:
        yield client


SPL_PATH = f"/dailymed/services/v2/spls/{HUMIRA}.xml"


def test_429_waits_for_retry_after_then_succeeds(server, client, live, corpus_dir):
    server.fail(SPL_PATH, Fault(429, {"Retry-After": "1"}, b'{"error":"API rate limit exceeded"}'))
    started = time.monotonic()
    response = DailyMed(client, live).spl(HUMIRA)
    assert time.monotonic() - started >= 1.0
    assert response.content == (corpus_dir / "labels/spl/humira.xml").read_bytes()
    seen = server.requests_to(SPL_PATH)
    assert len(seen) == 2
    assert seen[0].headers["user-agent"].startswith("Vademecum/")


def test_500_twice_then_success(server, client, live, corpus_dir):
    server.fail(SPL_PATH, Fault(500, body=b"Internal Server Error"), Fault(502))
    response = DailyMed(client, live).spl(HUMIRA)
    assert response.content == (corpus_dir / "labels/spl/humira.xml").read_bytes()
    assert len(server.requests_to(SPL_PATH)) == 3


def test_500_forever_is_a_clear_error_naming_the_url(server, client, live):
    server.fail(SPL_PATH, *[Fault(500, body=b"Internal Server Error")] * 10)
    with pytest.raises(FetchError) as raised:
        DailyMed(client, live).spl(HUMIRA)
    message = str(raised.value)
    assert f"{server.base_url}{SPL_PATH}" in message
    assert "gave up after 4 attempts" in message and "HTTP 500" in message
    assert len(server.requests_to(SPL_PATH)) == 4


def test_a_4xx_is_not_retried(server, client, live):
    with pytest.raises(FetchError, match="HTTP 404") as raised:
        DailyMed(client, live).spl("00000000-0000-0000-0000-000000000000")
    assert raised.value.status == 404
    assert len(server.seen) == 1


def test_truncated_body_is_retried(server, client, live, corpus_dir):
    server.fail(SPL_PATH, Fault(truncate=True))
    response = DailyMed(client, live).spl(HUMIRA)
    assert response.content == (corpus_dir / "labels/spl/humira.xml").read_bytes()
    assert len(server.requests_to(SPL_PATH)) == 2


def test_cache_revalidates_with_etag_and_serves_the_304(server, client, live, corpus_dir):
    first = DailyMed(client, live).spl(HUMIRA)
    second = DailyMed(client, live).spl(HUMIRA)
    assert not first.from_cache and second.from_cache
    assert second.content == first.content == (corpus_dir / "labels/spl/humira.xml").read_bytes()
    initial, revalidation = server.requests_to(SPL_PATH)
    assert "if-none-match" not in initial.headers
    assert revalidation.headers["if-none-match"] == first.headers["etag"]
    assert revalidation.headers["if-modified-since"] == first.headers["last-modified"]
    # only validators and the body digest are kept on disk: never a credential
    assert sorted(p.suffix for p in client.cache_dir.iterdir()) == [".body", ".json"]


def test_rate_limiter_spaces_requests():
    limiter = RateLimiter(5.0)
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= (6 - 1) / 5.0 - 0.01


def test_cut_download_resumes_with_a_range_request_and_is_verified(server, client, corpus_dir, tmp_path):
    path = f"/pubmed/updatefiles/{UPDATE_FILE}"
    server.fail(path, Fault(truncate=True))
    nlm = NlmFiles(client, f"{server.base_url}/pubmed")
    (listed,) = nlm.list("updatefiles")
    downloaded = nlm.download(listed, tmp_path / "nlm")
    original = (corpus_dir / "pubmed/pubmedparser-pubmed21n1003.xml.gz").read_bytes()
    assert downloaded.read_bytes() == original
    first, resumed = server.requests_to(path)
    assert "range" not in first.headers
    assert resumed.headers["range"] == f"bytes={len(original) // 2}-"
    assert not (tmp_path / "nlm" / f"{UPDATE_FILE}.part").exists()


def test_md5_mismatch_rejects_the_file(server, client, tmp_path):
    server.md5_override[UPDATE_FILE] = hashlib.md5(b"something else").hexdigest()
    nlm = NlmFiles(client, f"{server.base_url}/pubmed")
    (listed,) = nlm.list("updatefiles")
    with pytest.raises(ChecksumError, match=f"{UPDATE_FILE}: MD5 mismatch .* file rejected"):
        nlm.download(listed, tmp_path / "nlm")
    assert list((tmp_path / "nlm").iterdir()) == []
    # downloaded twice (a transfer can be corrupted), then rejected
    assert len(server.requests_to(f"/pubmed/updatefiles/{UPDATE_FILE}")) == 2
