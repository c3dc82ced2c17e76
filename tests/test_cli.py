"""The command line, run in-process with Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vademecum.cli import app
from vademecum.settings import Settings


@pytest.fixture
def cli(tmp_path: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("VADEMECUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    return CliRunner()


def test_ingest_search_and_stats(cli: CliRunner, corpus_dir: Path):
    result = cli.invoke(app, ["ingest", str(corpus_dir / "labels" / "spl"), str(corpus_dir / "pubmed")])
    assert result.exit_code == 0, result.output
    assert "documents added" in result.output
    assert "files ingested" in result.output

    result = cli.invoke(app, ["search", "adalimumab plaque psoriasis", "--kind", "drug_label", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "HUMIRA" in result.output
    assert "drug_label" in result.output

    result = cli.invoke(app, ["corpus", "stats"])
    assert result.exit_code == 0, result.output
    assert "documents: drug_label" in result.output
    assert "documents: research" in result.output


def test_ingest_reports_a_bad_file_and_exits_non_zero(cli: CliRunner, tmp_path: Path, corpus_dir: Path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    result = cli.invoke(app, ["ingest", str(empty), str(corpus_dir / "labels" / "spl" / "viagra.xml")])
    assert result.exit_code == 1
    assert "file is empty" in result.output
    assert empty.name in result.output
    assert "documents added" in result.output


def test_missing_path_is_a_one_line_error(cli: CliRunner, tmp_path: Path):
    result = cli.invoke(app, ["ingest", str(tmp_path / "nowhere.xml")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_empty_search_is_refused(cli: CliRunner):
    result = cli.invoke(app, ["search", "   "])
    assert result.exit_code == 1
    assert "query is empty" in result.output


def test_get_runs_a_request_in_process(demo_settings: Settings, cli: CliRunner, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADEMECUM_HOME", str(demo_settings.home))
    result = cli.invoke(app, ["get", "/api/search?q=somatostatin+analogue+carcinoid+syndrome&limit=1"])
    assert result.exit_code == 0, result.output
    assert "gi-neuroendocrine-treatment-pdq" in result.output


@pytest.mark.parametrize(
    ("output", "marker"), [("md", "## From the FDA Drug Label"), ("json", '"schema_version": "1.4"')]
)
def test_ask_prints_the_article(
    demo_settings: Settings, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, output: str, marker: str
):
    monkeypatch.setenv("VADEMECUM_HOME", str(demo_settings.home))
    result = cli.invoke(app, ["ask", "What is the recommended dose of atorvastatin?", "--format", output])
    assert result.exit_code == 0, result.output
    assert marker in result.output
    assert "LIPITOR" in result.output


def test_ask_refuses_a_non_clinical_question(demo_settings: Settings, cli: CliRunner, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADEMECUM_HOME", str(demo_settings.home))
    result = cli.invoke(app, ["ask", "How do I bake bread?"])
    assert result.exit_code == 1
    assert "does not look like a clinical question" in result.output
