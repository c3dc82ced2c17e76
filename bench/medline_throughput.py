"""MEDLINE ingest throughput (parse + store + index, one process) on at least 100,000 records.

The demo corpus has about 1,250 real MEDLINE records, so the benchmark re-ingests them under new
PMIDs: each pass renumbers every record (``MedlineCitation/PMID``) from 900,000,000 upwards and
writes gzip files of 10,000 records to a scratch folder. The text is the real records' text.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import itertools
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import RESULTS_DIR, bench_settings, corpus_dir, peak_rss_mb, write_result
from lxml import etree

from vademecum.services.ingest import ingest_paths
from vademecum.services.runtime import open_runtime

FIRST_SYNTHETIC_PMID = 900_000_000
RECORDS_PER_FILE = 10_000


def real_records(pubmed_dir: Path) -> list[etree._Element]:
    """Every MedlineCitation of the corpus's MEDLINE files, as PubmedArticle elements."""
    records = []
    for path in sorted(pubmed_dir.glob("*.xml.gz")):
        with gzip.open(path) as handle:
            for _, element in etree.iterparse(handle, tag=("PubmedArticle", "MedlineCitation")):
                if element.tag == "MedlineCitation" and element.getparent().tag == "PubmedArticle":
                    continue
                if element.tag == "MedlineCitation":
                    article = etree.Element("PubmedArticle")
                    article.append(copy.deepcopy(element))
                    records.append(article)
                else:
                    records.append(copy.deepcopy(element))
    return records


def renumbered(records: list[etree._Element], total: int) -> Iterator[bytes]:
    """``total`` serialised records, cycling through ``records`` with fresh PMIDs."""
    for number in range(total):
        record = copy.deepcopy(records[number % len(records)])
        record.find("MedlineCitation/PMID").text = str(FIRST_SYNTHETIC_PMID + number)
        yield etree.tostring(record)


def write_files(records: list[etree._Element], total: int, folder: Path) -> list[Path]:
    """Write ``total`` renumbered records into gzip files of RECORDS_PER_FILE records."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    payloads = renumbered(records, total)
    paths: list[Path] = []
    while chunk := list(itertools.islice(payloads, RECORDS_PER_FILE)):
        paths.append(folder / f"bench{len(paths):04d}.xml.gz")
        with gzip.open(paths[-1], "wb", compresslevel=1) as handle:
            handle.write(b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
            handle.writelines(payload + b"\n" for payload in chunk)
            handle.write(b"</PubmedArticleSet>\n")
    return paths


def main() -> None:
    """Generate the files, ingest them into a fresh store, report records/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    source = real_records(corpus_dir() / "pubmed")
    files = write_files(source, args.records, RESULTS_DIR / "medline-files")
    settings = bench_settings("medline")
    shutil.rmtree(settings.home, ignore_errors=True)
    runtime = open_runtime(settings)
    try:
        started = time.perf_counter()
        report = ingest_paths(runtime, files)
        seconds = time.perf_counter() - started
        indexed = runtime.index.count()
    finally:
        runtime.close()
    index_bytes = sum(p.stat().st_size for p in settings.index_dir.rglob("*") if p.is_file())
    write_result(
        "medline_throughput",
        {
            "note": f"{len(source)} real MEDLINE records re-ingested under new PMIDs to make {args.records:,}",
            "records": report.counts["records"],
            "files": len(files),
            "seconds": round(seconds, 2),
            "records_per_s": round(report.counts["records"] / seconds, 1),
            "passages_indexed": indexed,
            "index_mb": round(index_bytes / 2**20, 1),
            "store_mb": round((settings.home / "vademecum.sqlite3").stat().st_size / 2**20, 1),
            "failed_files": [problem.source for problem in report.problems],
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()
