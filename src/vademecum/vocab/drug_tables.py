"""The drug names :class:`vademecum.vocab.drugs.DrugLexicon` scans for, in memory or compiled into SQLite.

The ``drug-named-entity-recognition`` package unpickles about 20,000 drugs and 107,000 names on
import: two seconds and 350 MB per process. :func:`write_drug_tables` compiles the same tables into the
vocabulary file (:func:`vademecum.vocab.compile.compile_vocabulary`), where :class:`CompiledDrugTables`
queries them through indexes, so a process opens them in milliseconds and shares their pages with every
other process through the page cache. :class:`DrugTables` keeps the in-memory form, built from the
package (:func:`package_tables`) or from small dictionaries; both answer the same three questions.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vademecum.vocab.normalise import normalise_term

PACKAGE = "drug_named_entity_recognition"
PACKAGE_DISTRIBUTION = "drug-named-entity-recognition"

# Entries that are drugs and not merely chemicals: the package's MeSH-only entries are proteins,
# enzymes and nucleic acids ("histones", "circular RNA"), which MeSH itself already names. An entry
# is a drug when a drug source lists it, or when MeSH files it as a drug class or a vaccine.
_DRUG_SOURCES = ("drugbank_id", "medline_plus_id", "nhs_url", "wikipedia_url")
_DRUG_TREES = ("D27.505", "D20.215.894")

# Names that are ordinary words in a question ("more" is a brand of pancreatic enzymes), added to the
# package's own stopword list.
_EXTRA_STOPWORD_LIST = "a an and are as at be by can do for in is it may more no not of on or the to was will"
_EXTRA_STOPWORDS = frozenset(_EXTRA_STOPWORD_LIST.split())

# SQLite's default limit on host parameters is 999 in older builds; stay well under it.
_SQL_CHUNK = 500

SCHEMA = """
CREATE TABLE drugs (key TEXT PRIMARY KEY, name TEXT NOT NULL, package_mesh_id TEXT, synonyms TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE drug_names (norm TEXT NOT NULL, key TEXT NOT NULL, is_brand INTEGER NOT NULL, PRIMARY KEY (norm, key))
    WITHOUT ROWID;
CREATE TABLE drug_first_words (word TEXT PRIMARY KEY, longest INTEGER NOT NULL) WITHOUT ROWID;
"""
"""Tables of the compiled drug names; every lookup is a primary-key probe, so no further index."""


@dataclass(frozen=True, slots=True)
class Drug:
    """One canonical drug of the package, with the MeSH UI the package gives (own or class)."""

    key: str
    name: str
    package_mesh_id: str | None
    synonyms: tuple[str, ...]


class DrugNames(Protocol):
    """What the lexicon asks of its names: batched, so a text costs two lookups however long it is."""

    def drug(self, key: str) -> Drug | None:
        """The drug of a canonical key, or None."""
        ...

    def longest(self, first_words: Collection[str]) -> dict[str, int]:
        """For each word that starts a name: the most words of any name starting with it."""
        ...

    def senses(self, norms: Collection[str]) -> dict[str, dict[str, bool]]:
        """For each normalised text that is a name: {canonical key: whether the name is a brand of it}."""
        ...

    def __len__(self) -> int:
        """Number of drugs."""
        ...


@dataclass(frozen=True, slots=True)
class DrugTables:
    """The package's names prepared for scanning, held in memory."""

    drugs: dict[str, Drug]
    names: dict[str, dict[str, bool]]
    """Normalised name → {canonical key: whether the name is a brand of it}."""
    first_words: dict[str, int]
    """First word of a name → most words of any name starting with it (bounds the scan)."""

    @classmethod
    def build(
        cls,
        variant_to_canonical: Mapping[str, Sequence[str]],
        canonical_data: Mapping[str, Mapping[str, Any]],
        variant_data: Mapping[str, Mapping[str, Any]],
        stopwords: frozenset[str] = frozenset(),
    ) -> DrugTables:
        """Tables from dictionaries shaped like the package's (variant → canonicals, canonical → data)."""
        drugs = {
            key: Drug(
                key,
                str(data.get("name") or key),
                data.get("mesh_id"),
                tuple(dict.fromkeys([key, *data.get("synonyms", ())])),
            )
            for key, data in canonical_data.items()
            if _is_drug(data)
        }
        excluded = stopwords | _EXTRA_STOPWORDS
        names: dict[str, dict[str, bool]] = {}
        first_words: dict[str, int] = {}
        for variant, canonicals in variant_to_canonical.items():
            norm = normalise_term(variant)
            # A name cut at a comma ("alcohol," of benzyl alcohol) is a broken permuted form.
            if not norm or norm in excluded or variant.strip().endswith(",") or variant.strip().startswith(","):
                continue
            brand = bool(variant_data.get(variant, {}).get("is_brand", False))
            for canonical in canonicals:
                if canonical in drugs:
                    senses = names.setdefault(norm, {})
                    senses[canonical] = senses.get(canonical, False) or brand
            if norm in names:
                first, _, rest = norm.partition(" ")
                first_words[first] = max(first_words.get(first, 0), rest.count(" ") + 2 if rest else 1)
        return cls(drugs, names, first_words)

    def drug(self, key: str) -> Drug | None:
        """The drug of a canonical key, or None."""
        return self.drugs.get(key)

    def longest(self, first_words: Collection[str]) -> dict[str, int]:
        """For each word that starts a name: the most words of any name starting with it."""
        return {word: self.first_words[word] for word in first_words if word in self.first_words}

    def senses(self, norms: Collection[str]) -> dict[str, dict[str, bool]]:
        """For each normalised text that is a name: {canonical key: whether the name is a brand of it}."""
        return {norm: self.names[norm] for norm in norms if norm in self.names}

    def __len__(self) -> int:
        """Number of drugs."""
        return len(self.drugs)


class CompiledDrugTables:
    """The drug tables of a compiled vocabulary file, queried through their primary keys."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def drug(self, key: str) -> Drug | None:
        """The drug of a canonical key, or None."""
        row = self._connection.execute(
            "SELECT key, name, package_mesh_id, synonyms FROM drugs WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        key, name, package_mesh_id, synonyms = row
        return Drug(key, name, package_mesh_id, tuple(json.loads(synonyms)))

    def longest(self, first_words: Collection[str]) -> dict[str, int]:
        """For each word that starts a name: the most words of any name starting with it."""
        return dict(self._in("SELECT word, longest FROM drug_first_words WHERE word IN", first_words))

    def senses(self, norms: Collection[str]) -> dict[str, dict[str, bool]]:
        """For each normalised text that is a name: {canonical key: whether the name is a brand of it}."""
        found: dict[str, dict[str, bool]] = {}
        for norm, key, is_brand in self._in("SELECT norm, key, is_brand FROM drug_names WHERE norm IN", norms):
            found.setdefault(norm, {})[key] = bool(is_brand)
        return found

    def __len__(self) -> int:
        """Number of drugs."""
        return int(self._connection.execute("SELECT count(*) FROM drugs").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def _in(self, query: str, values: Collection[str]) -> list[tuple[Any, ...]]:
        ordered = sorted(values)
        rows: list[tuple[Any, ...]] = []
        for offset in range(0, len(ordered), _SQL_CHUNK):
            chunk = ordered[offset : offset + _SQL_CHUNK]
            rows.extend(self._connection.execute(f"{query} ({','.join('?' * len(chunk))})", chunk))
        return rows


def write_drug_tables(connection: sqlite3.Connection, tables: DrugTables) -> tuple[int, int]:
    """Create and fill the drug tables of a vocabulary being compiled; returns (drugs, names) written."""
    connection.executescript(SCHEMA)
    connection.executemany(
        "INSERT INTO drugs VALUES (?, ?, ?, ?)",
        (
            (drug.key, drug.name, drug.package_mesh_id, json.dumps(drug.synonyms, ensure_ascii=False))
            for drug in tables.drugs.values()
        ),
    )
    rows = [(norm, key, int(brand)) for norm, senses in tables.names.items() for key, brand in senses.items()]
    connection.executemany("INSERT INTO drug_names VALUES (?, ?, ?)", rows)
    connection.executemany("INSERT INTO drug_first_words VALUES (?, ?)", tables.first_words.items())
    return len(tables.drugs), len(rows)


def package_fingerprint() -> dict[str, str]:
    """The installed package's version and its data files' SHA-256: what the compiled tables derive from.

    Found without importing the package, whose import alone takes two seconds.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {PACKAGE_DISTRIBUTION} package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    fingerprint = {"version": importlib.metadata.version(PACKAGE_DISTRIBUTION)}
    for path in sorted(folder.glob("*.pkl*")):
        fingerprint[f"sha256:{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return fingerprint


@functools.cache
def package_tables() -> DrugTables:
    """The tables of the installed package, built once per process (about two seconds, 350 MB)."""
    # Imported here: the package unpickles its 20,000 drugs on import, which only a caller that
    # needs them in memory should pay for.
    from drug_named_entity_recognition import drugs_finder
    from drug_named_entity_recognition.util import stopwords

    return DrugTables.build(
        drugs_finder.drug_variant_to_canonical,
        drugs_finder.drug_canonical_to_data,
        drugs_finder.drug_variant_to_variant_data,
        frozenset(stopwords),
    )


def _is_drug(data: Mapping[str, Any]) -> bool:
    if any(source in data for source in _DRUG_SOURCES):
        return True
    return any(tree.startswith(_DRUG_TREES) for tree in data.get("mesh_tree", ()))
