"""Opening plain, gzip and zip sources, and refusing truncated and bomb-sized ones."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from vademecum.errors import ReaderError
from vademecum.sources.archives import open_source

LIMIT = 10 * 1024**2


def test_gzip_is_decompressed_with_its_head(corpus_dir: Path):
    path = corpus_dir / "pubmed" / "pubmed24-sample.xml.gz"
    with open_source(path, LIMIT, 200) as streams:
        (stream,) = streams
        assert stream.name == "pubmed24-sample.xml"
        assert stream.head.startswith(b"<?xml")
        assert stream.handle.read() == gzip.decompress(path.read_bytes())


def test_truncated_gzip_is_a_reader_error_naming_the_file(tmp_path: Path, corpus_dir: Path):
    data = (corpus_dir / "pubmed" / "medline16n0902-sample.xml.gz").read_bytes()
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReaderError) as caught, open_source(path, LIMIT, 200) as streams:
        streams[0].handle.read()
    assert caught.value.source == str(path)
    assert "truncated" in caught.value.detail


def test_decompressed_size_limit(tmp_path: Path, corpus_dir: Path):
    path = corpus_dir / "pubmed" / "medline16n0902-sample.xml.gz"
    with pytest.raises(ReaderError, match="exceeds the limit"), open_source(path, 100_000, 200) as streams:
        streams[0].handle.read()


def test_zip_bomb_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("drug-label-0001-of-0001.json", b"\0" * (20 * 1024**2))
    with pytest.raises(ReaderError, match="archive bomb") as caught, open_source(path, LIMIT, 200):
        pass
    assert caught.value.record == "drug-label-0001-of-0001.json"


def test_zip_members_are_streams(tmp_path: Path, corpus_dir: Path):
    path = tmp_path / "labels.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(corpus_dir / "labels" / "spl" / "humira.xml", "humira.xml")
    with open_source(path, LIMIT, 200) as streams:
        assert [s.name for s in streams] == ["humira.xml"]
        assert streams[0].handle.read() == (corpus_dir / "labels" / "spl" / "humira.xml").read_bytes()


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.xml"
    path.write_bytes(b"")
    with pytest.raises(ReaderError, match="empty") as caught, open_source(path, LIMIT, 200):
        pass
    assert caught.value.source == str(path)
