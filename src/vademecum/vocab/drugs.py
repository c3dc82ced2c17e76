"""Drug names in text: generic and brand names resolved to one generic drug, with character offsets.

The names come from the ``drug-named-entity-recognition`` package (about 20,000 drugs from DrugBank,
MedlinePlus, the NHS, Wikipedia and MeSH, with brand names and synonyms). Its own ``find_drugs`` looks
at one or two pre-split tokens and gives no offsets, so this module takes the package's dictionaries
(compiled into the vocabulary file, :mod:`vademecum.vocab.drug_tables`) and matches names of any length
on the same word tokens MeSH spotting uses
(:func:`vademecum.vocab.normalise.words`): "Humira", "irinotecan hydrochloride" and "abacavir,
dolutegravir, and lamivudine" are found case-insensitively and mapped back to the original string.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from vademecum.vocab.compile import connect
from vademecum.vocab.drug_tables import CompiledDrugTables, Drug, DrugNames, DrugTables, package_tables
from vademecum.vocab.mesh import MeshVocabulary
from vademecum.vocab.normalise import normalise_term, words

__all__ = ["FIND_CACHE_SIZE", "DrugLexicon", "DrugMention", "DrugTables"]

# Texts whose drug mentions are kept (about a thousand articles' worth of sentences).
FIND_CACHE_SIZE = 20_000
# Drugs kept decoded from the compiled tables: more than an article names, a small share of all 13,839.
_DRUG_CACHE_SIZE = 4_096

# Punctuation that may sit between the words of one name: hyphens, slashes, apostrophes, and the
# commas of combination products ("abacavir, dolutegravir, and lamivudine"). Anything else ends it.
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


class DrugLexicon:
    """Finds drug names (generic and brand) in text and lists a drug's names.

    :meth:`open` queries the tables compiled into the vocabulary file (milliseconds to open, pages
    shared between processes); :meth:`load` reads the package into memory (about two seconds and
    350 MB per process); tests may build :class:`DrugTables` from small dictionaries. Both find the
    same mentions. With ``mesh``, mentions carry the drug's MeSH UI: the package's own ``mesh_id`` is
    not used, because for about 40% of its drugs it is the drug's class (Adalimumab → Tumor Necrosis
    Factor Inhibitors).
    """

    def __init__(self, tables: DrugNames, mesh: MeshVocabulary | None = None) -> None:
        self._tables = tables
        self._mesh = mesh
        self._mesh_ids: dict[str, str | None] = {}
        # One article reads a sentence several times (grouping, drug names, doses): found once.
        self._found = functools.lru_cache(maxsize=FIND_CACHE_SIZE)(self._find)
        # Decoded once, so every mention of a drug shares one tuple of synonyms.
        self._drug = functools.lru_cache(maxsize=_DRUG_CACHE_SIZE)(self._tables.drug)

    @classmethod
    def open(cls, path: Path, mesh: MeshVocabulary | None = None) -> DrugLexicon:
        """The lexicon compiled into the vocabulary at ``path`` (see :func:`vademecum.vocab.compile.connect`)."""
        return cls(CompiledDrugTables(connect(path)), mesh)

    @classmethod
    def load(cls, mesh: MeshVocabulary | None = None) -> DrugLexicon:
        """The lexicon of the installed ``drug-named-entity-recognition`` package, read into memory."""
        return cls(package_tables(), mesh)

    def __len__(self) -> int:
        """Number of drugs known."""
        return len(self._tables)

    def find(self, text: str) -> list[DrugMention]:
        """Drug names in ``text``, left to right, longest name first at each position, no overlaps."""
        return list(self._found(text))

    def _find(self, text: str) -> tuple[DrugMention, ...]:
        tokens = words(text)
        longest = self._tables.longest({token.key for token in tokens})
        # Every run of joined words that could be a name, asked for in one batch.
        spans: dict[tuple[int, int], str] = {}
        for position, token in enumerate(tokens):
            for end in range(position + 1, min(len(tokens), position + longest.get(token.key, 0)) + 1):
                if end - position > 1 and not _joined(text, tokens[end - 2].end, tokens[end - 1].start):
                    break
                spans[(position, end)] = " ".join(word.key for word in tokens[position:end])
        names = self._tables.senses(set(spans.values())) if spans else {}
        found = []
        position = 0
        while position < len(tokens):
            for end in range(min(len(tokens), position + longest.get(tokens[position].key, 0)), position, -1):
                senses = names.get(spans.get((position, end), ""))
                if senses:
                    start, stop = tokens[position].start, tokens[end - 1].end
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

    def _resolve(self, name: str) -> Drug | None:
        drug = self._drug(name.strip().casefold())
        if drug is not None:
            return drug
        norm = normalise_term(name)
        senses = self._tables.senses([norm]).get(norm) if norm else None
        return self._drug(self._best(norm, senses)) if senses else None

    def _best(self, norm: str, senses: dict[str, bool]) -> str:
        """The canonical drug a name most likely means: the drug of that very name, else one MeSH knows."""
        return min(senses, key=lambda key: (normalise_term(key) != norm, self._package_mesh_id(key) is None, key))

    def _package_mesh_id(self, key: str) -> str | None:
        drug = self._drug(key)
        return drug.package_mesh_id if drug else None

    def _mention(self, text: str, start: int, end: int, senses: dict[str, bool]) -> DrugMention:
        drug = self._drug(self._best(normalise_term(text[start:end]), senses))
        if drug is None:
            raise KeyError(f"drug tables name an unknown drug in {senses}")
        mesh_id = self._mesh_id(drug)
        return DrugMention(
            start, end, text[start:end], drug.name, mesh_id, senses[drug.key], drug.synonyms, drug.package_mesh_id
        )

    def _mesh_id(self, drug: Drug) -> str | None:
        """The MeSH descriptor named by the drug's generic name (memoised), or None without MeSH."""
        if self._mesh is None:
            return None
        if drug.key not in self._mesh_ids:
            found = self._mesh.lookup(drug.name)
            self._mesh_ids[drug.key] = found[0].ui if found else None
        return self._mesh_ids[drug.key]

    def close(self) -> None:
        """Close the compiled tables' database connection (nothing to close for tables in memory)."""
        if isinstance(self._tables, CompiledDrugTables):
            self._tables.close()


def _joined(text: str, left_end: int, right_start: int) -> bool:
    """Whether only name punctuation separates two words (a full stop or bracket ends a name)."""
    return all(ch in _NAME_JOINERS for ch in text[left_end:right_start])
