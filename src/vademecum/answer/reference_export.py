"""An article's references for reference managers: RIS and BibTeX.

Both formats take the references in number order. Each entry carries the identifiers the article links
to: PMID (RIS ``AN``, BibTeX ``pmid``), DOI, DailyMed set id, and the source's own address; an open-access
source's licence goes in a note (RIS ``N1``, BibTeX ``note``), since neither format has a field for it.

=================  ====================  =========================================================
reference kind     RIS type              BibTeX entry
=================  ====================  =========================================================
research           ``JOUR`` (journal)    ``@article`` with ``journal``
guideline          ``GEN``               ``@misc``, the issuer as corporate author and publisher
drug_label         ``ELEC``              ``@misc``, the manufacturer as corporate author and publisher
drug_information   ``ELEC``              ``@misc``, the issuer as corporate author and publisher
=================  ====================  =========================================================

BibTeX keys are stable across versions (built from the PMID, the set id or the document id, never from the
reference number, which changes when an edit renumbers the list) and unique within one export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vademecum.answer.article import Article, Reference, ReferenceKind
from vademecum.answer.render import DAILYMED_URL, PUBMED_URL

RIS_TYPES: dict[ReferenceKind, str] = {
    ReferenceKind.RESEARCH: "JOUR",
    ReferenceKind.GUIDELINE: "GEN",
    ReferenceKind.DRUG_LABEL: "ELEC",
    ReferenceKind.DRUG_INFORMATION: "ELEC",
}

# Characters LaTeX treats specially, and how to write each one literally. Braces and the backslash become
# commands followed by an empty group, so every brace BibTeX counts in a value is one of a balanced pair
# (BibTeX counts ``\{`` as an opening brace too, which is why ``\{`` cannot be used).
_BIBTEX_SPECIALS: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_BIBTEX_SPECIAL = re.compile("|".join(re.escape(character) for character in _BIBTEX_SPECIALS))
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
# URLs and DOIs are read verbatim by biblatex and the url package, so LaTeX escapes would show up in them;
# the three characters that could unbalance the entry are percent-encoded instead (resolvers accept that).
_VERBATIM_UNSAFE = {"{": "%7B", "}": "%7D", "\\": "%5C"}


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) made one space, trimmed."""
    return " ".join(text.split())


def _url_of(reference: Reference) -> str | None:
    if reference.url and reference.url.startswith(("http://", "https://")):
        return reference.url
    if reference.pmid:
        return PUBMED_URL.format(pmid=reference.pmid)
    if reference.set_id:
        return DAILYMED_URL.format(set_id=reference.set_id)
    return None


# --- RIS ------------------------------------------------------------------------------------------------


def _ris_line(tag: str, value: str | int | None) -> list[str]:
    if value is None:
        return []
    text = one_line(str(value))
    return [f"{tag}  - {text}"] if text else []


def ris_entry(reference: Reference, key: str) -> str:
    """One RIS record (``TY`` … ``ER``) for ``reference``, with ``key`` as its ``ID``."""
    lines = _ris_line("TY", RIS_TYPES[reference.kind])
    lines += _ris_line("ID", key)
    lines += _ris_line("TI", reference.title)
    if reference.kind is ReferenceKind.RESEARCH:
        lines += _ris_line("JO", reference.issuer)
    else:
        # Guidelines and labels have no personal authors: the issuing body is the author and publisher.
        lines += _ris_line("AU", reference.issuer)
        lines += _ris_line("PB", reference.issuer)
    lines += _ris_line("PY", reference.year)
    lines += _ris_line("AN", reference.pmid or reference.set_id)
    lines += _ris_line("DO", reference.doi)
    lines += _ris_line("UR", _url_of(reference))
    lines += _ris_line("N1", f"Vademecum reference [{reference.number}], evidence level {reference.level}")
    lines += _ris_line("N1", licence_note(reference))
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


def licence_note(reference: Reference) -> str | None:
    """The note naming a source's licence ("Licence: CC BY 4.0 (address)"), or None when it states none."""
    if not reference.licence:
        return None
    return f"Licence: {reference.licence}" + (f" ({reference.licence_url})" if reference.licence_url else "")


def to_ris(article: Article) -> str:
    """The article's references as RIS records (CRLF line ends, as the format specifies)."""
    keys = bibtex_keys(article.references)
    return "\r\n".join(ris_entry(reference, keys[reference.number]) for reference in article.references)


# --- BibTeX ---------------------------------------------------------------------------------------------


def escape_bibtex(text: str) -> str:
    """``text`` as the literal content of a braced BibTeX value: LaTeX specials escaped, braces balanced,
    whitespace runs made one space."""
    return _BIBTEX_SPECIAL.sub(lambda match: _BIBTEX_SPECIALS[match.group()], one_line(text))


def verbatim_bibtex(text: str) -> str:
    """``text`` (a URL or DOI) for a verbatim BibTeX field: one line, braces and backslashes percent-encoded."""
    return "".join(_VERBATIM_UNSAFE.get(character, character) for character in one_line(text))


def _base_key(reference: Reference) -> str:
    if reference.pmid:
        return f"pmid{reference.pmid}"
    if reference.set_id:
        return f"dailymed-{reference.set_id}"
    return reference.document_id


def bibtex_keys(references: Iterable[Reference]) -> dict[int, str]:
    """A unique, stable citation key per reference number: letters, digits and hyphens only."""
    keys: dict[int, str] = {}
    taken: set[str] = set()
    for reference in references:
        base = _KEY_UNSAFE.sub("-", _base_key(reference)).strip("-") or "ref"
        key, suffix = base, 1
        while key.lower() in taken:  # BibTeX compares keys without case
            suffix += 1
            key = f"{base}-{suffix}"
        taken.add(key.lower())
        keys[reference.number] = key
    return keys


def bibtex_entry(reference: Reference, key: str) -> str:
    """One BibTeX entry for ``reference`` under ``key``."""
    fields: list[tuple[str, str]] = [("title", "{" + escape_bibtex(reference.title) + "}")]  # keep its case
    if reference.kind is ReferenceKind.RESEARCH:
        entry_type = "article"
        if reference.issuer:
            fields.append(("journal", escape_bibtex(reference.issuer)))
    else:
        entry_type = "misc"
        if reference.issuer:
            # Double braces: a corporate author, not a person's "Last, First".
            fields.append(("author", "{" + escape_bibtex(reference.issuer) + "}"))
            fields.append(("publisher", escape_bibtex(reference.issuer)))
    if reference.year is not None:
        fields.append(("year", str(reference.year)))
    if reference.pmid:
        fields.append(("pmid", escape_bibtex(reference.pmid)))
    if reference.doi:
        fields.append(("doi", verbatim_bibtex(reference.doi)))
    url = _url_of(reference)
    if url:
        fields.append(("url", verbatim_bibtex(url)))
    notes = [f"DailyMed set id {reference.set_id}" if reference.set_id else None, licence_note(reference)]
    if any(notes):
        fields.append(("note", escape_bibtex("; ".join(note for note in notes if note))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{key},\n{body}\n}}\n"


def to_bibtex(article: Article) -> str:
    """The article's references as BibTeX entries, in reference number order."""
    keys = bibtex_keys(article.references)
    return "\n".join(bibtex_entry(reference, keys[reference.number]) for reference in article.references)
