"""Reader for PubMedQA JSON (``ori_pqal.json`` and the files of the same shape), keyed by PMID.

Each instance is a PubMed abstract split the PubMedQA way (Jin et al., EMNLP 2019): ``QUESTION`` is the
article's title or a question derived from it, ``CONTEXTS`` (labelled by ``LABELS``) is the abstract
without its conclusion, and ``LONG_ANSWER`` is the abstract's conclusion. Each becomes a research
:class:`SourceDocument` with ``doc_id`` ``pmid:<PMID>``, the id the MEDLINE reader gives the same
article, so the two copies are one document.

PubMedQA carries no article title, so the question is used as ``title`` and marked with
``extra["title_source"] = "pubmedqa_question"``: it is the nearest thing to the title the file has,
and a MEDLINE copy of the article, which has the real title, can be told apart and preferred.

Example on the real file (../shared/corpus/pubmedqa/ori_pqal.json)::

    with open(corpus / "pubmedqa/ori_pqal.json", "rb") as handle:
        first = next(parse(handle, "ori_pqal.json"))
    first.doc_id, first.year, first.extra["final_decision"]  # ('pmid:21645374', 2011, 'yes')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from vademecum.errors import ReaderError
from vademecum.records import DocumentKind, MeshHeading, Passage, SourceDocument, SourceRecord

READER_NAME: str = "pubmedqa"
READER_VERSION: str = "1"

# The long answer is the abstract's conclusion; its own label is not kept by PubMedQA, so it gets the
# NLM category name, written like the upper-case labels of the contexts beside it.
CONCLUSIONS_LABEL = "CONCLUSIONS"
TITLE_SOURCE = "pubmedqa_question"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
_SNIFF = re.compile(rb'\A\s*\{\s*"\d+"\s*:\s*\{')
_YEAR = re.compile(r"\d{4}")


def sniff(name: str, head: bytes) -> bool:
    """True for a JSON object whose first key is a PMID and whose first value has a ``QUESTION``."""
    return _SNIFF.match(head.lstrip(b"\xef\xbb\xbf")) is not None and b'"QUESTION"' in head


def parse(handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Yield one research document per PubMedQA instance, in file order.

    Args:
        handle: the JSON file's bytes (UTF-8).
        source: the file name, used in locators and errors.

    Raises:
        ReaderError: not UTF-8, not JSON, not an object keyed by PMID, or an instance without a
            question, with contexts and labels that do not pair up, or with values of the wrong type.
    """
    try:
        data = json.loads(handle.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ReaderError(source, f"not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ReaderError(source, f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReaderError(source, f"expected a JSON object keyed by PMID, found {type(data).__name__}")
    if not data:
        raise ReaderError(source, "no PubMedQA instances (empty object)")
    for pmid, instance in data.items():
        yield parse_instance(pmid, instance, source)


def parse_instance(pmid: str, instance: Any, source: str) -> SourceDocument:
    """Build the document for one instance; raises :class:`ReaderError` naming the PMID when it is malformed."""
    if not (pmid.isdigit() and pmid.isascii()):
        raise ReaderError(source, f"key is not a PMID: {pmid!r}", record=pmid)
    record = f"pmid:{pmid}"
    if not isinstance(instance, dict):
        raise ReaderError(source, "instance is not an object", record=record)
    question = _string(instance.get("QUESTION"), "QUESTION", source, record)
    if not question:
        raise ReaderError(source, "instance has no QUESTION", record=record)
    contexts = _strings(instance.get("CONTEXTS"), "CONTEXTS", source, record)
    labels = _strings(instance.get("LABELS"), "LABELS", source, record)
    if labels and len(labels) != len(contexts):
        raise ReaderError(source, f"{len(contexts)} CONTEXTS but {len(labels)} LABELS", record=record)
    passages = [
        Passage(text=text, section_path=(label or "Abstract",), block="abstract")
        for text, label in zip(contexts, labels or [""] * len(contexts), strict=True)
        if text
    ]
    long_answer = _string(instance.get("LONG_ANSWER"), "LONG_ANSWER", source, record)
    if long_answer:
        passages.append(
            Passage(
                text=long_answer,
                section_path=(CONCLUSIONS_LABEL,),
                section_code=CONCLUSIONS_LABEL,
                block="abstract",
            )
        )
    extra = {"title_source": TITLE_SOURCE}
    decision = _string(instance.get("final_decision"), "final_decision", source, record)
    if decision:
        extra["final_decision"] = decision
    return SourceDocument(
        doc_id=record,
        kind=DocumentKind.RESEARCH,
        title=question,
        reader=READER_NAME,
        locator=f"{source}#pmid:{pmid}",
        passages=tuple(passages),
        year=parse_year(instance.get("YEAR")),
        url=PUBMED_URL.format(pmid=pmid),
        pmid=pmid,
        # PubMedQA lists descriptor names only: the major-topic flag is unknown, so False.
        mesh_headings=tuple(
            MeshHeading(descriptor=name) for name in _strings(instance.get("MESHES"), "MESHES", source, record)
        ),
        extra=extra,
    )


def parse_year(value: object) -> int | None:
    """The ``YEAR`` field ("2011", sometimes ``null``) as a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _YEAR.fullmatch(value.strip()):
        return int(value)
    return None


def _string(value: object, field: str, source: str, record: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReaderError(source, f"{field} is not a string", record=record)
    return _clean(value)


def _strings(value: object, field: str, source: str, record: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ReaderError(source, f"{field} is not a list of strings", record=record)
    return [_clean(item) for item in value]


def _clean(text: str) -> str:
    return " ".join(text.split())
