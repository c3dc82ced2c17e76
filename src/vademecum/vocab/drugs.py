"""Drug names in text: generic and brand names resolved to one generic drug, with character offsets.

The names come from the ``drug-named-entity-recognition`` package (about 20,000 drugs from DrugBank,
MedlinePlus, the NHS, Wikipedia and MeSH, with brand names and synonyms). Its own ``find_drugs`` looks
at one or two pre-split tokens and gives no offsets, so this module reads the package's dictionaries
once and matches names of any length on the same word tokens MeSH spotting uses
(:func:`vademecum.vocab.normalise.words`): "Humira", "irinotecan hydrochloride" and "abacavir,
dolutegravir, and lamivudine" are found case-insensitively and mapped back to the original string.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vademecum.vocab.mesh import MeshVocabulary
from vademecum.vocab.normalise import normalise_term, words

# Entries that are drugs and not merely chemicals: the package's MeSH-only entries are proteins,
# enzymes and nucleic acids ("histones", "circular RNA"), which MeSH itself already names. An entry
# is a drug when a drug source lists it, or when MeSH files it as a drug class or a vaccine.
_DRUG_SOURCES = ("drugbank_id", "medline_plus_id", "nhs_url", "wikipedia_url")
_DRUG_TREES = ("D27.505", "D20.215.894")

# Names that are ordinary words in a question ("more" is a brand of pancreatic enzymes), added to the
# package's own stopword list.
_EXTRA_STOPWORD_LIST = "a an and are as at be by can do for in is it may more no not of on or the to was will"
_EXTRA_STOPWORDS = frozenset(_EXTRA_STOPWORD_LIST.split())

# Punctuation that may sit between the words of one name: hyphens, slashes, apostrophes, and the
# commas of combination products ("abacavir, dolutegravir, and lamivudine"). Anything else ends it.
# Texts whose drug mentions are kept (about a thousand articles' worth of sentences).
FIND_CACHE_SIZE = 20_000
_NAME_JOINERS = frozenset(" \t\n\r\u00a0-\u2010\u2011\u2012\u2013'\u2019/+,")


@dataclass(frozen=True, slots=True)
class DrugMention:
    """A drug named in a text: ``text == original[start:end]``.

    ``name`` is the generic (canonical) name as the package writes it ("Adalimumab"), ``is_brand``
    says the text used a name the package marks as a brand ("Humira"); ``synonyms`` are every name of
    the drug, lower case. ``mesh_id`` is the drug's MeSH descriptor when the lexicon was given a MeSH
    vocabulary and MeSH has the generic name, else None. ``package_mesh_id`` is the MeSH UI the package
    gives: the drug's own descriptor, or for about 40% of drugs its class (Adalimumab → Tumor Necrosis
    Factor Inhibitors), useful as a class hint for drugs MeSH does not name.
    """

    start: int
    end: int
    text: str
    name: str
    mesh_id: str | None
    is_brand: bool
    synonyms: tuple[str, ...]
    package_mesh_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Drug:
    """One canonical drug of the package, with the MeSH UI the package gives (own or class)."""

    key: str
    name: str
    package_mesh_id: str | None
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DrugTables:
    """The package's names prepared for scanning: built once, shared by every :class:`DrugLexicon`."""

    drugs: dict[str, _Drug]
    names: dict[str, dict[str, bool]]
    """Normalised name → {canonical key: whether the name is a brand of it}."""
    longest: dict[str, int]
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
            key: _Drug(
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
        longest: dict[str, int] = {}
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
                longest[first] = max(longest.get(first, 0), rest.count(" ") + 2 if rest else 1)
        return cls(drugs, names, longest)


class DrugLexicon:
    """Finds drug names (generic and brand) in text and lists a drug's names.

    :meth:`load` reads the package once per process (about two seconds); tests may build
    :class:`DrugTables` from small dictionaries. With ``mesh``, mentions carry the drug's MeSH UI: the
    package's own ``mesh_id`` is not used, because for about 40% of its drugs it is the drug's class
    (Adalimumab → Tumor Necrosis Factor Inhibitors).
    """

    def __init__(self, tables: DrugTables, mesh: MeshVocabulary | None = None) -> None:
        self._tables = tables
        self._mesh = mesh
        self._mesh_ids: dict[str, str | None] = {}
        # One article reads a sentence several times (grouping, drug names, doses): found once.
        self._found = functools.lru_cache(maxsize=FIND_CACHE_SIZE)(self._find)

    @classmethod
    def load(cls, mesh: MeshVocabulary | None = None) -> DrugLexicon:
        """The lexicon of the installed ``drug-named-entity-recognition`` package."""
        return cls(_package_tables(), mesh)

    def __len__(self) -> int:
        """Number of drugs known."""
        return len(self._tables.drugs)

    def find(self, text: str) -> list[DrugMention]:
        """Drug names in ``text``, left to right, longest name first at each position, no overlaps."""
        return list(self._found(text))

    def _find(self, text: str) -> tuple[DrugMention, ...]:
        tokens = words(text)
        found = []
        position = 0
        while position < len(tokens):
            longest = self._tables.longest.get(tokens[position].key, 0)
            for end in range(min(len(tokens), position + longest), position, -1):
                span = tokens[position:end]
                if not all(_joined(text, left.end, right.start) for left, right in itertools.pairwise(span)):
                    continue
                senses = self._tables.names.get(" ".join(token.key for token in span))
                if senses:
                    start, stop = span[0].start, span[-1].end
                    found.append(self._mention(text, start, stop, senses))
                    position = end
                    break
            else:
                position += 1
        return tuple(found)

    def names_for(self, name: str) -> tuple[str, ...]:
        """Every name of the drug called ``name`` (generic or brand, any case), generic first; () if unknown."""
        drug = self._resolve(name)
        return drug.synonyms if drug else ()

    def generic_name(self, name: str) -> str | None:
        """The generic name of the drug called ``name`` (e.g. a brand), or None if unknown."""
        drug = self._resolve(name)
        return drug.name if drug else None

    def _resolve(self, name: str) -> _Drug | None:
        key = name.strip().casefold()
        if key in self._tables.drugs:
            return self._tables.drugs[key]
        norm = normalise_term(name)
        senses = self._tables.names.get(norm)
        return self._tables.drugs[self._best(norm, senses)] if senses else None

    def _best(self, norm: str, senses: dict[str, bool]) -> str:
        """The canonical drug a name most likely means: the drug of that very name, else one MeSH knows."""
        drugs = self._tables.drugs
        return min(senses, key=lambda key: (normalise_term(key) != norm, drugs[key].package_mesh_id is None, key))

    def _mention(self, text: str, start: int, end: int, senses: dict[str, bool]) -> DrugMention:
        drug = self._tables.drugs[self._best(normalise_term(text[start:end]), senses)]
        mesh_id = self._mesh_id(drug)
        return DrugMention(
            start, end, text[start:end], drug.name, mesh_id, senses[drug.key], drug.synonyms, drug.package_mesh_id
        )

    def _mesh_id(self, drug: _Drug) -> str | None:
        """The MeSH descriptor named by the drug's generic name (memoised), or None without MeSH."""
        if self._mesh is None:
            return None
        if drug.key not in self._mesh_ids:
            found = self._mesh.lookup(drug.name)
            self._mesh_ids[drug.key] = found[0].ui if found else None
        return self._mesh_ids[drug.key]


def _is_drug(data: Mapping[str, Any]) -> bool:
    if any(source in data for source in _DRUG_SOURCES):
        return True
    return any(tree.startswith(_DRUG_TREES) for tree in data.get("mesh_tree", ()))


def _joined(text: str, left_end: int, right_start: int) -> bool:
    """Whether only name punctuation separates two words (a full stop or bracket ends a name)."""
    return all(ch in _NAME_JOINERS for ch in text[left_end:right_start])


@functools.cache
def _package_tables() -> DrugTables:
    # Imported here: the package unpickles its 20,000 drugs on import, which only a caller that
    # needs drug names should pay for.
    from drug_named_entity_recognition import drugs_finder
    from drug_named_entity_recognition.util import stopwords

    return DrugTables.build(
        drugs_finder.drug_variant_to_canonical,
        drugs_finder.drug_canonical_to_data,
        drugs_finder.drug_variant_to_variant_data,
        frozenset(stopwords),
    )
