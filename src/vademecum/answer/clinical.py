"""What is clinical: the MeSH trees a question must touch, the role a descriptor plays, medical words.

:func:`vademecum.answer.understand.understand` refuses a question that names nothing medical. A
question is clinical when any of these holds:

1. it names a MeSH descriptor filed in a clinical tree (:data:`CLINICAL_TREES`, less the branches of
   :data:`NON_CLINICAL_BRANCHES`: weather, food as such, plants, sport, economics, mathematics);
2. it names a drug;
3. it contains an identifier-like word, as new drugs, genes and assays are written: two capitals,
   or letters and digits together;
4. it contains a medical word: a generic clinical noun (:data:`CLINICAL_WORDS`: "patients", "gene"),
   a word built with a medical affix (:data:`MEDICAL_SUFFIXES`, :data:`MEDICAL_PREFIXES`), or a word
   that MeSH uses almost only in clinical descriptors ("fracture" occurs in the entry terms of 59
   descriptors, 58 of them clinical, though no descriptor is called just that).

Measured on the 2,983 BioASQ and PubMedQA questions, these refuse 48 (1.6%: software tools, products
and study designs MeSH does not name, and a few sociological questions), while refusing 52 of 60
plainly non-clinical questions written for the purpose (food, sport and family words still pass).
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Sequence
from typing import ClassVar, Literal

from vademecum.vocab.categories import MeshCategories
from vademecum.vocab.mesh import MeshVocabulary
from vademecum.vocab.normalise import words

Role = Literal["condition", "drug", "procedure", "other"]

CLINICAL_TREES = ("A", "B", "C", "D", "E", "F", "G", "H02", "M01", "N")
"""Anatomy, organisms, diseases, chemicals and drugs, techniques, psychology and psychiatry, biological
phenomena, health occupations, persons (patients, infants), health care."""
NON_CLINICAL_BRANCHES = (
    "B01.875", "G01", "G07.203", "G11.427", "G16.500", "G17", "M01.686", "N01", "N03", "N06.230",
)  # fmt: skip
"""Plants, physical phenomena (time, light), diet and food, sport, environment (weather), mathematics,
population groups and characteristics, economics: the branches everyday questions ("How do I grow
tomatoes?", "Which is better, tea or coffee?") touch without being clinical."""
CONDITION_TREES = ("C", "F03")
PROCEDURE_TREES = ("E",)
NON_PROCEDURE_BRANCHES = ("E01.789", "E02.208", "E05.318", "E05.337", "E05.581", "E05.599")
"""Descriptors filed under techniques that name a topic rather than a procedure: Prognosis,
Contraindications, epidemiologic methods ("Risk"), evaluation studies, methods, theoretical models."""
INFECTIOUS_AGENT_TREES = ("B01", "B02", "B03", "B04")
"""Eukaryotes, archaea, bacteria, viruses: what infects a patient, less the branches below."""
NON_AGENT_BRANCHES = ("B01.050", "B01.650", "B01.875")
"""Animals and plants; of the animals only the helminths (:data:`AGENT_ANIMAL_BRANCHES`) infect."""
AGENT_ANIMAL_BRANCHES = ("B01.050.500.500",)
DRUG_TREES = ("D",)
DRUG_CLASS_BRANCHES = ("D27.505", "D20.215.894")
"""Pharmacologic actions (drug classes such as "Angiotensin-Converting Enzyme Inhibitors") and vaccines:
drugs even without a pharmacological action of their own. Other chemicals (proteins, genes' products)
are drugs only when MeSH lists a pharmacological action for them."""

CLINICAL_WORDS = re.compile(
    r"\b(?:patients?|clinic\w*|diseases?|disorders?|syndromes?|symptom\w*|medic\w*|pharmac\w*|drugs?|health\w*"
    r"|hospital\w*|physicians?|surgeons?|surger\w*|surgical\w*|nurs(?:e|es|ing)|therap\w*|genes?|genetic\w*"
    r"|genom\w*|proteins?|cells?|cellular|mutation\w*|mutant\w*|receptors?|enzym\w*|antibod\w*|inhibitor\w*"
    r"|molecul\w*|virus\w*|viral|bacteri\w*|microb\w*|infect\w*|toxin\w*|trials?|fda|vaccin\w*|tumou?rs?"
    r"|cancers?|chromosom\w*|dna|rna|mrna|amino\w*|prescri\w*|pregnan\w*|fetal|foetal|fetus\w*|neonat\w*"
    r"|diagnos\w*|treat(?:s|ed|ing|ment|ments)?|dos(?:e|es|ing|age|ages)|injur\w*|pain(?:s|ful)?|blood|organs?"
    r"|anatom\w*|organism\w*|lesions?|biolog\w*)\b"
)
"""Generic clinical and biomedical nouns, matched on the lower-cased question."""
MEDICAL_SUFFIXES = (
    "itis", "osis", "oses", "iasis", "omas", "emia", "aemia", "pathy", "pathies", "ectomy", "ectomies", "otomy",
    "ostomy", "plasty", "scopy", "scopic", "algia", "uria", "plasia", "genesis", "cytes", "osome", "osomes",
    "omics", "ome", "omes", "mab", "nib", "ases",
)  # fmt: skip
MEDICAL_PREFIXES = (
    "hemo", "haemo", "hema", "haema", "neuro", "cardio", "hepat", "nephr", "onco", "immun", "gastro", "dermat",
    "osteo", "myo", "pneum", "patho", "cyto", "entero", "angio", "bronch", "thromb", "lymph", "leuk", "erythr",
    "glyco", "proteo", "epigen", "chemo", "carcin", "phago",
)  # fmt: skip
_AFFIX_EXCEPTION_LIST = (
    "welcome outcome outcomes income become chrome syndrome home homes some awesome databases increases"
    " decreases purchases releases phases cases bases"
)
AFFIX_EXCEPTIONS = frozenset(_AFFIX_EXCEPTION_LIST.split())
"""Everyday words the affix rule would take for medical ones."""
_GENERIC_WORD_LIST = (
    "about also after against based before being between binding both cause caused containing could derived"
    " does during each from have into like made many mediated more most other over related same should some"
    " such than that their them there these they this those through type types under used using very what"
    " when where which while will with would your associated induced dependent specific activated"
)
GENERIC_WORDS = frozenset(_GENERIC_WORD_LIST.split())
"""Words that occur in many clinical MeSH terms without saying anything medical ("Toll-Like Receptors")."""
MEDICAL_WORD_TREES = ("A", "B", "C", "D", "E", "F02", "F03", "G")
"""Trees whose entry terms make a word medical: narrower than :data:`CLINICAL_TREES`, leaving out
behaviour, occupations, persons and health care, whose terms are full of everyday words."""
MEDICAL_WORD_MIN_DESCRIPTORS = 3
MEDICAL_WORD_MIN_SHARE = 0.9
"""A word is medical when at least this many descriptors use it in an entry term and this share of
them are in :data:`MEDICAL_WORD_TREES` (outside :data:`NON_CLINICAL_BRANCHES`). Lower figures take
everyday words ("change", "color") for medical ones; higher ones refuse more real questions."""
WORD_CACHE_SIZE = 8_192
"""Words whose descriptor counts are kept: a question has a few dozen, so this spans many questions."""
_IDENTIFIER = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


class ClinicalVocabulary:
    """The clinical reading of a MeSH vocabulary; one per vocabulary (:meth:`of`), memoising its answers."""

    _instances: ClassVar[weakref.WeakKeyDictionary[MeshVocabulary, ClinicalVocabulary]] = weakref.WeakKeyDictionary()

    def __init__(self, mesh: MeshVocabulary) -> None:
        self.mesh = mesh
        self.categories = MeshCategories.of(mesh)
        self._has_actions: dict[str, bool] = {}
        self._counts = functools.lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_counts)

    @classmethod
    def of(cls, mesh: MeshVocabulary) -> ClinicalVocabulary:
        """The shared instance for ``mesh``."""
        found = cls._instances.get(mesh)
        if found is None:
            found = cls._instances[mesh] = cls(mesh)
        return found

    def prepare(self) -> None:
        """Find the category headings now (a hundred lookups) instead of in the first question needing them."""
        self.categories.heading_uis()

    def tree_numbers(self, ui: str, name: str | None) -> tuple[str, ...]:
        """Tree numbers of a descriptor, category headings included."""
        return self.categories.tree_numbers(ui, name)

    def role(self, ui: str, trees: Sequence[str]) -> Role:
        """Condition (diseases, mental disorders), drug, procedure or other, from the descriptor's trees.

        A category heading outside the disease trees ("Therapeutics", "Pharmaceutical Preparations") is
        "other": it names a kind of thing, not a thing. A chemical is a drug only as a drug class, a
        vaccine, or a substance with a pharmacological action ("Histones" is not; "Octreotide" is).
        """
        if any(tree.startswith(CONDITION_TREES) for tree in trees):
            return "condition"
        if all(len(tree) == 3 for tree in trees):
            return "other"
        if any(tree.startswith(DRUG_TREES) for tree in trees) and (
            any(tree.startswith(DRUG_CLASS_BRANCHES) for tree in trees) or self._pharmacological(ui)
        ):
            return "drug"
        if any(tree.startswith(PROCEDURE_TREES) and not tree.startswith(NON_PROCEDURE_BRANCHES) for tree in trees):
            return "procedure"
        return "other"

    def is_clinical(self, question: str, categories: Sequence[Sequence[str]], *, has_drug: bool) -> bool:
        """Whether a question is clinical, from its descriptors' trees, its drugs and its words (see module doc)."""
        if has_drug or any(_clinical_tree(tree) for trees in categories for tree in trees):
            return True
        # Capitals say nothing in a question written all in capitals.
        if not question.isupper() and any(_identifier(token) for token in _IDENTIFIER.findall(question)):
            return True
        if CLINICAL_WORDS.search(question.lower()):
            return True
        return any(self.medical_word(token.key) for token in words(question))

    def medical_word(self, word: str) -> bool:
        """Whether a (case-folded) word is medical by its affixes or by how MeSH uses it."""
        if len(word) < 5 or word in GENERIC_WORDS or word in AFFIX_EXCEPTIONS:
            return False
        if word.endswith(MEDICAL_SUFFIXES) or word.startswith(MEDICAL_PREFIXES):
            return True
        for form in (word, word[:-1] if word.endswith("s") else "", word[:-2] if word.endswith("es") else ""):
            clinical, total = self._counts(form) if form else (0, 0)
            if total >= MEDICAL_WORD_MIN_DESCRIPTORS and clinical >= MEDICAL_WORD_MIN_SHARE * total:
                return True
        return False

    def _pharmacological(self, ui: str) -> bool:
        found = self._has_actions.get(ui)
        if found is None:
            found = self._has_actions[ui] = bool(self.mesh.pharmacological_actions(ui))
        return found

    def _word_counts(self, word: str) -> tuple[int, int]:
        """(clinical descriptors, all descriptors) using ``word`` in an entry term, from the compiled index."""
        clinical = total = 0
        for _, _, trees in self.categories.descriptors_using(word):
            total += 1
            clinical += any(
                tree.startswith(MEDICAL_WORD_TREES) and not tree.startswith(NON_CLINICAL_BRANCHES) for tree in trees
            )
        return clinical, total


def is_infectious_agent(trees: Sequence[str]) -> bool:
    """Whether a descriptor is a microorganism or parasite ("Leukemia Virus, Feline", "Candida albicans").

    Category headings ("Viruses", "Bacteria") are kinds of things, not agents.
    """
    return any(
        len(tree) > 3
        and tree.startswith(INFECTIOUS_AGENT_TREES)
        and (not tree.startswith(NON_AGENT_BRANCHES) or tree.startswith(AGENT_ANIMAL_BRANCHES))
        for tree in trees
    )


def _clinical_tree(tree: str) -> bool:
    return tree.startswith(CLINICAL_TREES) and not tree.startswith(NON_CLINICAL_BRANCHES)


def _identifier(token: str) -> bool:
    """Written like a name of a drug, gene or assay: two capitals, or letters with digits."""
    return sum(ch.isupper() for ch in token) >= 2 or (
        any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token)
    )
