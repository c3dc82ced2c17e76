"""RIS and BibTeX of an article's references: real references of a composed article, and any title or
issuer written so that the entry still parses and gives the text back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vademecum.answer.article import Article, Reference, ReferenceKind
from vademecum.answer.reference_export import (
    RIS_TYPES,
    bibtex_entry,
    bibtex_keys,
    escape_bibtex,
    one_line,
    ris_entry,
    to_bibtex,
    to_ris,
)
from vademecum.services.ask import ask
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings

# Questions from tests/test_ask.py: the first article cites research with PMIDs, the second a drug label.
QUESTIONS = (
    "What is the management for neuroendocrine tumors (NETs)?",
    "What is the recommended dose of adalimumab for rheumatoid arthritis?",
)

_UNESCAPES = {
    r"\textbackslash{}": "\\",
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\^{}": "^",
    r"\~{}": "~",
    r"\$": "$",
    r"\&": "&",
    r"\%": "%",
    r"\#": "#",
    r"\_": "_",
}
_UNESCAPE = re.compile("|".join(re.escape(token) for token in sorted(_UNESCAPES, key=len, reverse=True)))
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  - (.*)$")


def unescape_bibtex(text: str) -> str:
    """The inverse of escape_bibtex, written independently of it."""
    return _UNESCAPE.sub(lambda match: _UNESCAPES[match.group()], text)


def parse_bibtex(entry: str) -> tuple[str, str, dict[str, str]]:
    """(type, key, fields) of one entry, by BibTeX's own rule: braces nest, whatever their backslashes."""
    head = re.match(r"@(\w+)\{([^,\s{}]+),\n", entry)
    assert head, entry
    fields: dict[str, str] = {}
    position = head.end()
    while True:
        field = re.compile(r"  (\w+) = \{").match(entry, position)
        if field is None:
            break
        depth, index = 1, field.end()
        while depth:
            assert index < len(entry), f"unbalanced braces in {entry!r}"
            depth += {"{": 1, "}": -1}.get(entry[index], 0)
            index += 1
        fields[field.group(1)] = entry[field.end() : index - 1]
        position = index + 2 if entry.startswith(",\n", index) else index
    assert entry[position:] == "\n}\n", f"entry does not close where its fields end: {entry[position:]!r}"
    return head.group(1), head.group(2), fields


def parse_ris(text: str) -> list[list[tuple[str, str]]]:
    """RIS records as lists of (tag, value); every line must be a tag line."""
    records: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.split("\r\n"):
        if not line:
            continue
        match = _RIS_LINE.match(line)
        assert match, f"not a RIS line: {line!r}"
        current.append((match.group(1), match.group(2)))
        if match.group(1) == "ER":
            records.append(current)
            current = []
    assert not current, "a record is not closed by ER"
    return records


def reference(
    title: str, issuer: str | None, kind: ReferenceKind = ReferenceKind.RESEARCH, **kwargs: object
) -> Reference:
    fields: dict[str, object] = {"document_id": "pubmed:1", "year": 2020, "level": "rct", "pmid": "1"} | kwargs
    return Reference(number=1, kind=kind, title=title, issuer=issuer, **fields)  # type: ignore[arg-type]


@given(title=st.text(), issuer=st.one_of(st.none(), st.text()), kind=st.sampled_from(list(ReferenceKind)))
def test_any_title_and_issuer_round_trip_through_bibtex(title: str, issuer: str | None, kind: ReferenceKind) -> None:
    entry = bibtex_entry(reference(title, issuer, kind), "key-1")
    entry_type, key, fields = parse_bibtex(entry)
    assert (entry_type, key) == ("article" if kind is ReferenceKind.RESEARCH else "misc", "key-1")
    assert fields["title"].startswith("{") and fields["title"].endswith("}")
    assert unescape_bibtex(fields["title"][1:-1]) == one_line(title)
    if issuer is not None and one_line(issuer):
        field = "journal" if kind is ReferenceKind.RESEARCH else "publisher"
        assert unescape_bibtex(fields[field]) == one_line(issuer)


@given(title=st.text(), issuer=st.one_of(st.none(), st.text()))
def test_any_title_stays_on_its_ris_line(title: str, issuer: str | None) -> None:
    (record,) = parse_ris(ris_entry(reference(title, issuer), "key-1"))
    tags = dict(record)
    assert record[0] == ("TY", "JOUR") and record[-1] == ("ER", "")
    assert tags.get("TI", "") == one_line(title)
    assert tags.get("JO", "") == (one_line(issuer) if issuer else "")
    assert tags["AN"] == "1"


def test_escape_bibtex_examples() -> None:
    assert escape_bibtex("50% of {x} & y_1 #2 $3 ^ ~ \\") == (
        r"50\% of \textbraceleft{}x\textbraceright{} \& y\_1 \#2 \$3 \^{} \~{} \textbackslash{}"
    )
    assert escape_bibtex("  two\nlines\t ") == "two lines"


def test_keys_are_unique_and_stable() -> None:
    references = [
        Reference(1, ReferenceKind.GUIDELINE, "pdq:a/b", "x", None, None, "guideline"),
        Reference(2, ReferenceKind.GUIDELINE, "pdq-a-b", "x", None, None, "guideline"),
        Reference(3, ReferenceKind.RESEARCH, "pubmed:7", "x", None, None, "rct", pmid="7"),
        Reference(4, ReferenceKind.DRUG_LABEL, "spl:s", "x", None, None, "label", set_id="ab-cd"),
        Reference(5, ReferenceKind.GUIDELINE, "PDQ:A/B", "x", None, None, "guideline"),
    ]
    assert bibtex_keys(references) == {1: "pdq-a-b", 2: "pdq-a-b-2", 3: "pmid7", 4: "dailymed-ab-cd", 5: "PDQ-A-B-3"}
    # Renumbering (an edit) does not change a reference's key.
    renumbered = [Reference(1, ReferenceKind.RESEARCH, "pubmed:7", "x", None, None, "rct", pmid="7")]
    assert bibtex_keys(renumbered) == {1: "pmid7"}


@pytest.fixture(scope="module")
def composed(demo_settings: Settings) -> tuple[Article, ...]:
    runtime = open_runtime(demo_settings)
    try:
        return tuple(ask(runtime, question) for question in QUESTIONS)
    finally:
        runtime.close()


def test_real_references_as_ris_and_bibtex(composed: tuple[Article, ...]) -> None:
    research = [r for r in composed[0].references if r.kind is ReferenceKind.RESEARCH and r.pmid]
    labels = [r for r in composed[1].references if r.kind is ReferenceKind.DRUG_LABEL and r.set_id]
    assert research and labels
    assert f"AN  - {research[0].pmid}\r\n" in to_ris(composed[0])
    assert f"pmid = {{{research[0].pmid}}}" in to_bibtex(composed[0])
    assert f"AN  - {labels[0].set_id}\r\n" in to_ris(composed[1])
    assert f"note = {{DailyMed set id {labels[0].set_id}}}" in to_bibtex(composed[1])
    for article in composed:
        check_exports(article)


def check_exports(composed: Article) -> None:
    """Every reference of ``composed`` is one RIS record and one BibTeX entry carrying its identifiers."""
    references = composed.references

    records = parse_ris(to_ris(composed))
    assert len(records) == len(references)
    for ref, record in zip(references, records, strict=True):
        tags = dict(record)
        assert tags["TY"] == RIS_TYPES[ref.kind]
        assert tags["TI"] == one_line(ref.title)
        assert tags.get("PY") == (str(ref.year) if ref.year is not None else None)
        if ref.pmid:
            assert tags["AN"] == ref.pmid
            assert tags["UR"].startswith("http")
        if ref.kind is not ReferenceKind.RESEARCH and ref.issuer:
            assert (tags["AU"], tags["PB"]) == (one_line(ref.issuer), one_line(ref.issuer))

    entries = [parse_bibtex(chunk + "\n") for chunk in to_bibtex(composed).rstrip("\n").split("\n\n")]
    assert len(entries) == len(references)
    keys = [key for _, key, _ in entries]
    assert len(set(keys)) == len(keys)
    for ref, (entry_type, key, fields) in zip(references, entries, strict=True):
        assert entry_type == ("article" if ref.kind is ReferenceKind.RESEARCH else "misc")
        assert unescape_bibtex(fields["title"][1:-1]) == one_line(ref.title)
        if ref.pmid:
            assert (key, fields["pmid"]) == (f"pmid{ref.pmid}", ref.pmid)
        if ref.doi:
            assert fields["doi"] == ref.doi
