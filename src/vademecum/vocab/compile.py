"""Compile the vocabulary TSVs (MeSH and ADAM) and the drug names into one read-only SQLite file.

The sources are 20 MB of TSV and a drug package that take seconds and hundreds of megabytes to read;
the compiled file opens in milliseconds and is queried lazily through its indexes
(:mod:`vademecum.vocab.mesh`, :mod:`vademecum.vocab.abbreviations`, :mod:`vademecum.vocab.drug_tables`),
its pages shared by every process through the page cache. It is derived data: ``needs_compile``
compares the sources' SHA-256 and the drug package's version and data hashes (kept in the ``meta``
table) and the schema version, and a compile replaces the file atomically, so readers never see half a
file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vademecum.checksums import file_sha256
from vademecum.errors import NotIngestedError, ReaderError
from vademecum.vocab.drug_tables import package_fingerprint, package_tables, write_drug_tables
from vademecum.vocab.normalise import exact_words

SCHEMA_VERSION = "2"
"""Bumped whenever the tables or the derived values (keys, ranks, confidence) change."""

CONFIDENCE_PRIOR = 5
"""Pseudo-definitions of senses ADAM never saw, added to a form's total when computing confidence.

A form defined 12 times with one sense is weaker evidence than one defined 12,000 times; the prior
discounts the first (12/17) and barely the second. Chosen with ``bench/abbreviation_confidence.py``.
"""

TERMS_FILE = "mesh-terms.tsv"
TREE_NUMBERS_FILE = "mesh-tree-numbers.tsv"
PHARMACOLOGICAL_ACTIONS_FILE = "mesh-pharmacological-actions.tsv"
ABBREVIATIONS_FILE = "adam-abbreviations.tsv"
SOURCE_FILES = (TERMS_FILE, TREE_NUMBERS_FILE, PHARMACOLOGICAL_ACTIONS_FILE, ABBREVIATIONS_FILE)

# Rank of an entry term within its descriptor, best first. Permuted MeSH forms ("Tumor, Carcinoid") rank
# last: stripped of their comma they can collide with another descriptor's natural phrase
# ("Nursing, Home" of Home Nursing vs "Nursing Home" of Nursing Homes).
RANK_RECORD_PREFERRED = 0
RANK_CONCEPT_PREFERRED = 1
RANK_ENTRY = 2
RANK_PERMUTED = 3

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE descriptors (ui TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE terms (
    norm TEXT NOT NULL, ui TEXT NOT NULL, term TEXT NOT NULL,
    rank INTEGER NOT NULL, case_sensitive INTEGER NOT NULL
);
CREATE TABLE term_words (word TEXT NOT NULL, ui TEXT NOT NULL, PRIMARY KEY (word, ui)) WITHOUT ROWID;
CREATE TABLE tree_numbers (tree_number TEXT NOT NULL, ui TEXT NOT NULL, PRIMARY KEY (tree_number, ui))
    WITHOUT ROWID;
CREATE TABLE pharmacological_actions (
    ui TEXT NOT NULL, name TEXT, action_ui TEXT NOT NULL, action_name TEXT NOT NULL,
    PRIMARY KEY (ui, action_ui)
) WITHOUT ROWID;
CREATE TABLE abbreviations (
    form TEXT NOT NULL, long_form TEXT NOT NULL, long_forms TEXT NOT NULL, abbr TEXT NOT NULL,
    score REAL NOT NULL, count INTEGER NOT NULL, sense_count INTEGER NOT NULL, confidence REAL NOT NULL
);
"""

# Indexes are built after the bulk insert: cheaper than maintaining them row by row.
_INDEXES = """
CREATE INDEX terms_norm ON terms (norm);
CREATE INDEX terms_ui ON terms (ui);
CREATE INDEX tree_numbers_ui ON tree_numbers (ui);
CREATE INDEX pharmacological_actions_action ON pharmacological_actions (action_ui);
CREATE INDEX abbreviations_form ON abbreviations (form, confidence DESC);
"""


@dataclass(frozen=True, slots=True)
class VocabularyStats:
    """What a compile wrote: row counts, wall time and the size of the compiled file."""

    descriptors: int
    terms: int
    tree_numbers: int
    pharmacological_actions: int
    abbreviations: int
    drugs: int
    drug_names: int
    seconds: float
    size_bytes: int


def compile_vocabulary(vocab_dir: Path, target: Path) -> VocabularyStats:
    """Read the four vocabulary TSVs in ``vocab_dir`` and the installed drug package's names, and write
    the compiled SQLite file ``target``.

    The file is built beside ``target`` under a temporary name and moved into place with
    ``os.replace``, so an existing vocabulary stays usable until the new one is complete.
    Raises :class:`ReaderError` naming the file (and line) for a missing file, a missing column or a
    malformed row; ``target`` is then left as it was.
    """
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        connection = sqlite3.connect(tmp)
        try:
            # A throwaway file until os.replace: no journal or fsync per statement needed.
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.executescript(_SCHEMA)
            hashes: dict[str, str] = {}
            counts = _load(connection, vocab_dir, hashes)
            counts["drugs"], counts["drug_names"] = write_drug_tables(connection, package_tables())
            connection.executescript(_INDEXES)
            connection.execute("ANALYZE")
            meta = {
                "schema_version": SCHEMA_VERSION,
                **{f"sha256:{n}": h for n, h in hashes.items()},
                **{f"drugs:{key}": value for key, value in package_fingerprint().items()},
            }
            connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            connection.commit()
        finally:
            connection.close()
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp creates the file private; the vocabulary is public reference data.
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return VocabularyStats(**counts, seconds=time.perf_counter() - started, size_bytes=target.stat().st_size)


def needs_compile(vocab_dir: Path, target: Path) -> bool:
    """True unless ``target`` is a compiled vocabulary of this schema built from the current sources
    and the installed drug package."""
    if not target.is_file():
        return True
    try:
        connection = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            meta = dict(connection.execute("SELECT key, value FROM meta"))
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return True
    if meta.get("schema_version") != SCHEMA_VERSION:
        return True
    compiled_package = {key.removeprefix("drugs:"): value for key, value in meta.items() if key.startswith("drugs:")}
    if compiled_package != package_fingerprint():
        return True
    for name in SOURCE_FILES:
        path = vocab_dir / name
        if not path.is_file() or meta.get(f"sha256:{name}") != file_sha256(path):
            return True
    return False


def connect(path: Path) -> sqlite3.Connection:
    """Open a compiled vocabulary read-only, checking that it is one and of this schema version.

    Raises :class:`NotIngestedError` when the file does not exist and :class:`ReaderError` when it is
    not a compiled vocabulary of this version (recompile it).
    """
    if not path.is_file():
        raise NotIngestedError(f"no compiled vocabulary at {path}; compile it from the corpus vocab/ folder")
    # Read-only and shared across threads: the file is never written after os.replace put it in place.
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError:
        connection.close()
        raise ReaderError(str(path), "not a compiled vocabulary") from None
    if row is None or row[0] != SCHEMA_VERSION:
        connection.close()
        found = row[0] if row else None
        raise ReaderError(str(path), f"vocabulary schema {found}, expected {SCHEMA_VERSION}; recompile it")
    return connection


def _load(connection: sqlite3.Connection, vocab_dir: Path, hashes: dict[str, str]) -> dict[str, int]:
    """Load the four TSVs; returns the rows written per table."""
    descriptors, terms = _load_terms(connection, vocab_dir / TERMS_FILE, hashes)
    return {
        "descriptors": descriptors,
        "terms": terms,
        "tree_numbers": _load_tree_numbers(connection, vocab_dir / TREE_NUMBERS_FILE, hashes),
        "pharmacological_actions": _load_actions(connection, vocab_dir / PHARMACOLOGICAL_ACTIONS_FILE, hashes),
        "abbreviations": _load_abbreviations(connection, vocab_dir / ABBREVIATIONS_FILE, hashes),
    }


def _lines(path: Path, hashes: dict[str, str]) -> Iterator[tuple[int, str]]:
    """Numbered text lines of ``path`` (UTF-8, line ends stripped), hashing the bytes as they are read."""
    if not path.is_file():
        raise ReaderError(str(path), "vocabulary file is missing")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            digest.update(raw)
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ReaderError(str(path), f"not UTF-8 text ({error.reason})", record=f"line {number}") from None
    hashes[path.name] = digest.hexdigest()


def _rows(path: Path, columns: tuple[str, ...], hashes: dict[str, str]) -> Iterator[tuple[int, list[str]]]:
    """Rows of a TSV with a header line, as the values of ``columns`` (in that order), stripped."""
    lines = _lines(path, hashes)
    first = next(lines, None)
    if first is None:
        raise ReaderError(str(path), "empty file: no header line", record="line 1")
    header = first[1].split("\t")
    missing = [column for column in columns if column not in header]
    if missing:
        raise ReaderError(str(path), f"missing column(s) {', '.join(missing)} in header", record="line 1")
    positions = [header.index(column) for column in columns]
    for number, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ReaderError(
                str(path), f"expected {len(header)} tab-separated fields, found {len(fields)}", f"line {number}"
            )
        yield number, [fields[position].strip() for position in positions]


def _require(path: Path, number: int, columns: tuple[str, ...], values: list[str]) -> None:
    for column, value in zip(columns, values, strict=True):
        if not value:
            raise ReaderError(str(path), f"empty {column}", record=f"line {number}")


def _flag(path: Path, number: int, column: str, value: str) -> bool:
    if value not in ("Y", "N"):
        raise ReaderError(str(path), f"{column} must be Y or N, found {value!r}", record=f"line {number}")
    return value == "Y"


def _case_sensitive(term: str, term_words: list[str]) -> bool:
    """Whether a term only matches text written the same case: acronyms ("WHO") and forms like "IgA", "pH"."""
    if not any(ch.islower() for ch in term):
        return any(ch.isupper() for ch in term)
    return len(term_words) == 1 and any(ch.isupper() for ch in term_words[0][1:])


def _load_terms(connection: sqlite3.Connection, path: Path, hashes: dict[str, str]) -> tuple[int, int]:
    columns = ("DescriptorUI", "DescriptorName", "TermName", "ConceptPreferredTermYN", "RecordPreferredTermYN")
    names: dict[str, str] = {}
    # Which descriptors use a word in an entry term (what makes a word medical, answer/clinical.py).
    word_uses: set[tuple[str, str]] = set()
    batch: list[tuple[str, str, str, int, int]] = []
    count = 0
    for number, values in _rows(path, columns, hashes):
        _require(path, number, columns[:3], values[:3])
        ui, name, term, concept, record = values
        concept_preferred = _flag(path, number, columns[3], concept)
        record_preferred = _flag(path, number, columns[4], record)
        if names.setdefault(ui, name) != name:
            raise ReaderError(str(path), f"{ui} is named both {names[ui]!r} and {name!r}", f"line {number}")
        term_words = exact_words(term)
        norm = " ".join(word.casefold() for word in term_words)
        if not norm:
            raise ReaderError(str(path), f"term {term!r} has no letters or digits", f"line {number}")
        if record_preferred:
            rank = RANK_RECORD_PREFERRED
        elif concept_preferred:
            rank = RANK_CONCEPT_PREFERRED
        else:
            rank = RANK_PERMUTED if ", " in term else RANK_ENTRY
        batch.append((norm, ui, term, rank, int(_case_sensitive(term, term_words))))
        word_uses.update((word, ui) for word in norm.split())
        if len(batch) >= 50_000:
            connection.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?)", batch)
            count += len(batch)
            batch.clear()
    connection.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?)", batch)
    count += len(batch)
    connection.executemany("INSERT INTO descriptors VALUES (?, ?)", names.items())
    connection.executemany("INSERT INTO term_words VALUES (?, ?)", sorted(word_uses))
    return len(names), count


def _load_tree_numbers(connection: sqlite3.Connection, path: Path, hashes: dict[str, str]) -> int:
    columns = ("DescriptorUI", "tree_location")
    rows: set[tuple[str, str]] = set()
    for number, values in _rows(path, columns, hashes):
        _require(path, number, columns, values)
        ui, tree_number = values
        if not _is_tree_number(tree_number):
            raise ReaderError(str(path), f"malformed tree number {tree_number!r}", record=f"line {number}")
        rows.add((tree_number, ui))
    connection.executemany("INSERT INTO tree_numbers VALUES (?, ?)", sorted(rows))
    return len(rows)


def _is_tree_number(value: str) -> bool:
    """MeSH tree numbers look like ``C04.557.465``: a letter and two digits, then dotted groups of digits."""
    head, *groups = value.split(".")
    return (
        len(head) == 3
        and head[0].isalpha()
        and head[1:].isdigit()
        and all(group.isdigit() and group.isascii() for group in groups)
    )


def _load_actions(connection: sqlite3.Connection, path: Path, hashes: dict[str, str]) -> int:
    columns = ("DescriptorUI", "DescriptorName", "PharmActionUI", "PharmActionName")
    rows: dict[tuple[str, str], tuple[str, str | None, str, str]] = {}
    for number, values in _rows(path, columns, hashes):
        ui, name, action_ui, action_name = values
        # Supplementary concept records (C… UIs) carry no name in this file; the UIs and the action do.
        _require(path, number, (columns[0], *columns[2:]), [ui, action_ui, action_name])
        rows[(ui, action_ui)] = (ui, name or None, action_ui, action_name)
    connection.executemany("INSERT INTO pharmacological_actions VALUES (?, ?, ?, ?)", rows.values())
    return len(rows)


def _split_counted(path: Path, number: int, field: str, parts: int) -> list[list[str]]:
    """Split ADAM's ``form:count[:score]|…`` lists; forms may themselves contain ':' ("CTP:phospho…")."""
    items = []
    for item in field.split("|"):
        pieces = item.rsplit(":", parts - 1)
        if len(pieces) != parts or not pieces[0] or not pieces[1].isdigit():
            raise ReaderError(str(path), f"malformed entry {item!r}", record=f"line {number}")
        items.append(pieces)
    return items


def _load_abbreviations(connection: sqlite3.Connection, path: Path, hashes: dict[str, str]) -> int:
    """ADAM rows: preferred abbreviation, its written forms with counts, long-form variants, score, count.

    Each row is one sense. The table is keyed by written form, because ADAM files a sense under the
    form most often written: "odds ratio" is under "or" (6,057 times) with "OR" (1,694) as a variant.
    ``confidence`` of (form, sense) is the share of the form's definitions in MEDLINE that gave this
    sense (form count in the row / the form's count over all rows); docs/vocabulary.md says why this
    and not ADAM's score.
    """
    rows = []
    totals: defaultdict[str, int] = defaultdict(int)
    for number, line in _lines(path, hashes):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 5:
            raise ReaderError(str(path), f"expected 5 tab-separated fields, found {len(fields)}", f"line {number}")
        abbr, forms, long_forms, score_text, count_text = (field.strip() for field in fields)
        if not abbr:
            raise ReaderError(str(path), "empty abbreviation", record=f"line {number}")
        written = _split_counted(path, number, forms, 2)
        senses = _split_counted(path, number, long_forms, 3)
        try:
            score, count = float(score_text), int(count_text)
        except ValueError:
            raise ReaderError(str(path), "score or count is not a number", record=f"line {number}") from None
        if not 0.0 <= score <= 1.0 or count < 1:
            raise ReaderError(str(path), f"score {score} or count {count} out of range", f"line {number}")
        # Variants are listed most frequent first; that one is shown as the long form.
        variants = "|".join(sense[0] for sense in senses)
        for form, form_count in written:
            rows.append((form, senses[0][0], variants, abbr, score, int(form_count), count))
            totals[form] += int(form_count)
    connection.executemany(
        "INSERT INTO abbreviations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, row[5] / (totals[row[0]] + CONFIDENCE_PRIOR)) for row in rows],
    )
    return len(rows)
