"""`fetch pubmed` and `fetch labels` against a local E-utilities/openFDA server serving real corpus
records: what is requested, which documents are stored, and that failures store nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from live_server import Fault, LiveServer, run_server
from test_sources_openfda import spl_to_openfda
from vademecum.cli import app
from vademecum.errors import VademecumError
from vademecum.evidence.models import EvidenceDocument
from vademecum.services import live
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import LiveSettings, Settings
from vademecum.sources.live.http import FetchError
from vademecum.sources.live.ncbi import CLINICAL_QUERY_FILTERS

PUBMED_FILE = "pubmed/pubmedparser-pubmed21n1000.xml.gz"
QUERY = "patients"
BULK_PARTITIONS = (("humira", "viagra"), ("lipitor-orig", "cough"))


@pytest.fixture
def server(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    state = LiveServer()
    state.serve_pubmed(corpus_dir / PUBMED_FILE)
    state.labels = [spl_to_openfda(corpus_dir / f"labels/spl/{name}.xml") for name in ("humira", "viagra")]
    state.serve_bulk_labels(
        tmp_path_factory.mktemp("openfda-bulk"),
        [[spl_to_openfda(corpus_dir / f"labels/spl/{name}.xml") for name in names] for names in BULK_PARTITIONS],
    )
    yield from run_server(state)


@pytest.fixture
def live_runtime(settings: Settings, server: LiveServer) -> Iterator[Runtime]:
    live_settings = LiveSettings(
        eutils_url=f"{server.base_url}/entrez/eutils",
        openfda_url=server.base_url,
        ncbi_email="ops@example.org",
        ncbi_api_key="test-ncbi-key",
        openfda_api_key="test-fda-key",
        backoff_seconds=0.01,
        max_attempts=3,
        pubmed_batch_size=4,
    )
    runtime = open_runtime(settings.model_copy(update={"live": live_settings}))
    yield runtime
    runtime.close()


def stored_ids(runtime: Runtime) -> list[str]:
    with runtime.session() as session:
        return sorted(session.scalars(select(EvidenceDocument.id)))


def test_network_is_off_by_default(runtime: Runtime):
    assert runtime.settings.live.enabled is False
    with pytest.raises(VademecumError, match="network access is off"):
        live.fetch_pubmed(runtime, "anything")
    with pytest.raises(VademecumError, match="network access is off"):
        live.update(runtime)


def test_fetch_pubmed_searches_with_the_filter_and_ingests_every_batch(live_runtime: Runtime, server: LiveServer):
    report = live.fetch_pubmed(
        live_runtime, QUERY, clinical_filter="therapy/narrow", since=dt.date(2019, 1, 1), allow_network=True
    )
    (search,) = server.requests_to("/entrez/eutils/esearch.fcgi")
    assert search.params["term"] == f"({QUERY}) AND {CLINICAL_QUERY_FILTERS['therapy']['narrow']}"
    assert search.params == {
        "db": "pubmed", "term": search.params["term"], "usehistory": "y", "retmode": "json", "retmax": "4",
        "datetype": "pdat", "mindate": "2019/01/01", "maxdate": dt.date.today().strftime("%Y/%m/%d"),
        "tool": "vademecum", "email": "ops@example.org", "api_key": "test-ncbi-key",
    }  # fmt: skip
    matched = [pmid for pmid, text in server.texts.items() if QUERY in text]
    assert report.matched == len(matched) > 4
    fetches = server.requests_to("/entrez/eutils/efetch.fcgi")
    assert [int(f.params["retstart"]) for f in fetches] == list(range(0, len(matched), 4))
    assert len({(f.params["WebEnv"], f.params["query_key"]) for f in fetches}) == 1
    assert all(f.params["retmode"] == "xml" and f.params["api_key"] == "test-ncbi-key" for f in fetches)
    assert report.ingest is not None and report.ingest.ok
    assert stored_ids(live_runtime) == sorted(f"pmid:{pmid}" for pmid in matched)
    # the same search again: same bytes, nothing changes
    again = live.fetch_pubmed(
        live_runtime, QUERY, clinical_filter="therapy/narrow", since=dt.date(2019, 1, 1), allow_network=True
    )
    assert again.ingest is not None and again.ingest.counts["files_unchanged"] == len(again.files)
    assert again.ingest.freshness is None


def test_fetch_pubmed_max_limits_the_records(live_runtime: Runtime, server: LiveServer):
    report = live.fetch_pubmed(live_runtime, QUERY, max_records=5, allow_network=True)
    matched = [pmid for pmid, text in server.texts.items() if QUERY in text]
    assert stored_ids(live_runtime) == sorted(f"pmid:{pmid}" for pmid in matched[:5])
    assert [f.params["retmax"] for f in server.requests_to("/entrez/eutils/efetch.fcgi")] == ["4", "1"]
    assert report.ingest is not None and report.ingest.counts["documents_added"] == 5


def test_unknown_filter_is_refused(live_runtime: Runtime, server: LiveServer):
    with pytest.raises(VademecumError, match="unknown Clinical Queries filter 'therapy/wide'"):
        live.fetch_pubmed(live_runtime, QUERY, clinical_filter="therapy/wide", allow_network=True)
    assert server.seen == []


def test_efetch_failing_forever_names_the_url_and_stores_nothing(live_runtime: Runtime, server: LiveServer):
    server.fail("/entrez/eutils/efetch.fcgi", *[Fault(503, body=b"Service Unavailable")] * 10)
    with pytest.raises(FetchError) as raised:
        live.fetch_pubmed(live_runtime, QUERY, allow_network=True)
    assert f"{server.base_url}/entrez/eutils/efetch.fcgi?" in str(raised.value)
    assert "test-ncbi-key" not in str(raised.value)
    assert len(server.requests_to("/entrez/eutils/efetch.fcgi")) == 3
    assert stored_ids(live_runtime) == []


def test_invalid_xml_batch_is_reported_by_file_and_stores_nothing_from_it(live_runtime: Runtime, server: LiveServer):
    broken = b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n<PubmedArticle><MedlineCitation>'
    server.fail("/entrez/eutils/efetch.fcgi", Fault(200, {"Content-Type": "text/xml"}, broken))
    report = live.fetch_pubmed(live_runtime, QUERY, allow_network=True)
    assert report.ingest is not None and not report.ingest.ok
    (problem,) = report.ingest.problems
    assert problem.source == str(report.files[0]) and Path(problem.source).read_bytes() == broken
    matched = [pmid for pmid, text in server.texts.items() if QUERY in text]
    # the other batches are whole files and are stored; none of the first batch's records is
    assert stored_ids(live_runtime) == sorted(f"pmid:{pmid}" for pmid in matched[4:])


def test_fetch_labels_by_generic_or_brand_name(live_runtime: Runtime, server: LiveServer):
    humira = server.labels[0]
    report = live.fetch_labels(live_runtime, humira["openfda"]["brand_name"][0].upper(), allow_network=True)
    assert report.matched == 1 and report.ingest is not None and report.ingest.ok
    assert stored_ids(live_runtime) == [f"spl:{humira['set_id']}"]
    (request,) = server.requests_to("/drug/label.json")
    name = humira["openfda"]["brand_name"][0].upper()
    assert request.params == {
        "search": f'openfda.generic_name:"{name}" OR openfda.brand_name:"{name}"',
        "limit": "100",
        "skip": "0",
        "api_key": "test-fda-key",
    }


def test_fetch_labels_of_an_unknown_drug_finds_nothing(live_runtime: Runtime, server: LiveServer):
    report = live.fetch_labels(live_runtime, "no such drug", allow_network=True)
    assert (report.matched, report.files, report.ingest) == (0, [], None)
    with live_runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceDocument)) == 0


def bulk_set_ids(corpus_dir: Path, names: tuple[str, ...]) -> list[str]:
    return [spl_to_openfda(corpus_dir / f"labels/spl/{name}.xml")["set_id"] for name in names]


def zip_requests(server: LiveServer) -> list[str]:
    return [seen.path for seen in server.seen if seen.path.endswith(".json.zip")]


def test_fetch_labels_bulk_stores_the_labels_of_every_partition(
    live_runtime: Runtime, server: LiveServer, corpus_dir: Path
):
    report = live.fetch_labels_bulk(live_runtime, allow_network=True)
    assert report.ok and report.downloaded == 2 and report.matched == 4
    assert [path.name for path in report.files] == list(server.bulk_files)
    set_ids = [set_id for names in BULK_PARTITIONS for set_id in bulk_set_ids(corpus_dir, names)]
    assert stored_ids(live_runtime) == sorted(f"spl:{set_id}" for set_id in set_ids)
    with live_runtime.session() as session:
        titles = {doc.id: doc.title for doc in session.scalars(select(EvidenceDocument))}
    for names in BULK_PARTITIONS:
        for name in names:
            record = spl_to_openfda(corpus_dir / f"labels/spl/{name}.xml")
            brand = record["openfda"]["brand_name"][0].lower()
            assert brand in titles[f"spl:{record['set_id']}"].lower()
    assert report.ingest is not None and report.ingest.counts["files_ingested"] == 2
    assert sorted(zip_requests(server)) == sorted(f"/drug/label/{name}" for name in server.bulk_files)


def test_fetch_labels_bulk_twice_downloads_and_stores_nothing_new(live_runtime: Runtime, server: LiveServer):
    live.fetch_labels_bulk(live_runtime, allow_network=True)
    before = stored_ids(live_runtime)
    zips = len(zip_requests(server))
    again = live.fetch_labels_bulk(live_runtime, allow_network=True)
    assert again.ok and again.downloaded == 0 and len(again.files) == 2
    assert len(zip_requests(server)) == zips  # no zip requested again
    first, second = server.requests_to("/download.json")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"].startswith('"')  # revalidated: the server answered 304
    assert again.ingest is not None and again.ingest.counts["files_unchanged"] == 2
    assert not again.ingest.counts.get("documents_added")
    assert stored_ids(live_runtime) == before


def test_fetch_labels_bulk_resumes_a_cut_download(live_runtime: Runtime, server: LiveServer, corpus_dir: Path):
    first = next(iter(server.bulk_files))
    server.fail(f"/drug/label/{first}", Fault(truncate=True))
    report = live.fetch_labels_bulk(live_runtime, allow_network=True)
    assert report.ok
    resumed = server.requests_to(f"/drug/label/{first}")
    assert len(resumed) == 2 and resumed[1].headers["range"].startswith("bytes=")
    set_ids = [set_id for names in BULK_PARTITIONS for set_id in bulk_set_ids(corpus_dir, names)]
    assert stored_ids(live_runtime) == sorted(f"spl:{set_id}" for set_id in set_ids)


def test_fetch_labels_bulk_refuses_a_truncated_zip_and_stores_nothing_from_it(
    live_runtime: Runtime, server: LiveServer, corpus_dir: Path
):
    first, second = server.bulk_files
    zipped = server.bulk_files[first]
    zipped.write_bytes(zipped.read_bytes()[: zipped.stat().st_size // 2])  # served whole, but a cut file
    report = live.fetch_labels_bulk(live_runtime, allow_network=True)
    assert not report.ok
    (problem,) = report.problems
    assert first in problem and "not a complete bulk file" in problem
    assert len(server.requests_to(f"/drug/label/{first}")) == 2  # downloaded once more, then refused
    assert not (live_runtime.settings.home / "live" / "openfda" / "bulk" / first).exists()
    assert [path.name for path in report.files] == [second]
    assert stored_ids(live_runtime) == sorted(
        f"spl:{set_id}" for set_id in bulk_set_ids(corpus_dir, BULK_PARTITIONS[1])
    )


def test_fetch_labels_bulk_command(
    live_runtime: Runtime, server: LiveServer, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    settings = live_runtime.settings
    monkeypatch.setenv("VADEMECUM_HOME", str(settings.home))
    monkeypatch.setenv("VADEMECUM_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("VADEMECUM_LIVE__OPENFDA_URL", server.base_url)
    cli = CliRunner()
    result = cli.invoke(app, ["fetch", "labels", "--bulk", "--allow-network"])
    assert result.exit_code == 0, result.output
    assert "openFDA bulk files list 4 label(s); downloaded 2 file(s), 0 unchanged" in result.output
    assert "documents added 4" in result.output
    result = cli.invoke(app, ["fetch", "labels", "--bulk", "--allow-network"])
    assert result.exit_code == 0, result.output
    assert "downloaded 0 file(s), 2 unchanged" in result.output
    assert "files unchanged 2" in result.output
    result = cli.invoke(app, ["fetch", "labels", "--allow-network"])
    assert result.exit_code == 2
