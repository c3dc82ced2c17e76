"""Evidence levels: how strong a document is as evidence, from its kind and its NLM publication types.

The research ladder follows the project's rule "guideline > systematic review/meta-analysis > RCT >
observational > case report > narrative review/editorial" (lower rank = stronger). A PubMed record
whose publication types include a guideline type is reclassified as a guideline document; a
"Retracted Publication" is flagged so that search leaves it out.

FDA drug labels and NCI drug information pages are not research and are not graded by study design:
a label is the regulator-approved text for its drug (level ``regulatory``, rank 1, beside guidelines,
because indications and doses are checked against it); an NCI drug page is a secondary summary of
approvals (level ``reference``, rank 6, beside narrative reviews, below the label it summarises).
Articles retrieve and show each kind in its own section, so these ranks only matter when kinds are
listed together. ``docs/evidence-levels.md`` renders :data:`PUBLICATION_TYPE_LEVELS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from vademecum.records import DocumentKind


class EvidenceLevel(Enum):
    """An evidence level: ``rank`` orders levels (lower = stronger), ``label`` is the stored name.

    Levels compare by rank, so ``min(levels)`` is the strongest; two levels can share a rank
    (a guideline and a drug label are both rank 1) while staying distinct. ``int(level)`` is the rank.
    """

    GUIDELINE = (1, "guideline", "Guideline")
    SYSTEMATIC_REVIEW = (2, "systematic_review", "Systematic review / meta-analysis")
    RCT = (3, "rct", "Randomized controlled trial")
    OTHER_TRIAL_OBSERVATIONAL = (4, "other_trial_observational", "Other trial / observational study")
    CASE_REPORT = (5, "case_report", "Case report")
    NARRATIVE = (6, "narrative", "Narrative review / editorial / letter")
    UNCLASSIFIED = (7, "unclassified", "Unclassified")
    REGULATORY = (1, "regulatory", "FDA drug label")
    REFERENCE = (6, "reference", "Drug information")

    @property
    def rank(self) -> int:
        """Position on the ladder, 1 (strongest) to 7; stored as ``level_rank``."""
        return self.value[0]

    @property
    def label(self) -> str:
        """The lowercase name stored in the database and shown in the API (``rct``)."""
        return self.value[1]

    @property
    def title(self) -> str:
        """A display name for people ("Randomized controlled trial")."""
        return self.value[2]

    @classmethod
    def from_label(cls, label: str) -> EvidenceLevel:
        """The level stored as ``label``; raises ``ValueError`` for an unknown one."""
        for level in cls:
            if level.label == label:
                return level
        raise ValueError(f"unknown evidence level {label!r}")

    def __int__(self) -> int:
        return self.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EvidenceLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, EvidenceLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, EvidenceLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, EvidenceLevel):
            return NotImplemented
        return self.rank >= other.rank


RETRACTED_PUBLICATION = "Retracted Publication"
"""The NLM publication type of an article that was retracted (the retraction notice itself is
"Retraction of Publication", graded as narrative)."""

_L = EvidenceLevel
PUBLICATION_TYPE_LEVELS: dict[str, EvidenceLevel] = {
    # Guidelines: the record becomes a guideline document.
    "Practice Guideline": _L.GUIDELINE,
    "Guideline": _L.GUIDELINE,
    "Consensus Development Conference": _L.GUIDELINE,
    "Consensus Development Conference, NIH": _L.GUIDELINE,
    # Evidence syntheses.
    "Systematic Review": _L.SYSTEMATIC_REVIEW,
    "Meta-Analysis": _L.SYSTEMATIC_REVIEW,
    # Randomised trials; MeSH files Equivalence Trial and Pragmatic Clinical Trial under
    # Randomized Controlled Trial (V03.175.250.500.500). Veterinary trials are graded by design.
    "Randomized Controlled Trial": _L.RCT,
    "Equivalence Trial": _L.RCT,
    "Pragmatic Clinical Trial": _L.RCT,
    "Randomized Controlled Trial, Veterinary": _L.RCT,
    # Other trials and observational or comparative designs.
    "Clinical Trial": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Trial, Phase I": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Trial, Phase II": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Trial, Phase III": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Trial, Phase IV": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Controlled Clinical Trial": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Adaptive Clinical Trial": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Trial, Veterinary": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Clinical Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Observational Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Observational Study, Veterinary": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Comparative Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Multicenter Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Validation Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Evaluation Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    "Twin Study": _L.OTHER_TRIAL_OBSERVATIONAL,
    # Case reports.
    "Case Reports": _L.CASE_REPORT,
    # Narrative and other publications that report no study results of their own.
    "Review": _L.NARRATIVE,
    "Scientific Integrity Review": _L.NARRATIVE,
    "Editorial": _L.NARRATIVE,
    "Comment": _L.NARRATIVE,
    "Letter": _L.NARRATIVE,
    "News": _L.NARRATIVE,
    "Newspaper Article": _L.NARRATIVE,
    "Interview": _L.NARRATIVE,
    "Lecture": _L.NARRATIVE,
    "Address": _L.NARRATIVE,
    "Clinical Conference": _L.NARRATIVE,
    "Congress": _L.NARRATIVE,
    "Clinical Trial Protocol": _L.NARRATIVE,
    "Introductory Journal Article": _L.NARRATIVE,
    "Historical Article": _L.NARRATIVE,
    "Classical Article": _L.NARRATIVE,
    "Biography": _L.NARRATIVE,
    "Autobiography": _L.NARRATIVE,
    "Personal Narrative": _L.NARRATIVE,
    "Portrait": _L.NARRATIVE,
    "Festschrift": _L.NARRATIVE,
    "Patient Education Handout": _L.NARRATIVE,
    "Published Erratum": _L.NARRATIVE,
    "Retraction of Publication": _L.NARRATIVE,
    "Expression of Concern": _L.NARRATIVE,
    # Types that say nothing about the design; a record with only these is unclassified.
    "Journal Article": _L.UNCLASSIFIED,
    "English Abstract": _L.UNCLASSIFIED,
    "Research Support, N.I.H., Extramural": _L.UNCLASSIFIED,
    "Research Support, N.I.H., Intramural": _L.UNCLASSIFIED,
    "Research Support, Non-U.S. Gov't": _L.UNCLASSIFIED,
    "Research Support, U.S. Gov't, Non-P.H.S.": _L.UNCLASSIFIED,
    "Research Support, U.S. Gov't, P.H.S.": _L.UNCLASSIFIED,
    "Research Support, American Recovery and Reinvestment Act": _L.UNCLASSIFIED,
    "Video-Audio Media": _L.UNCLASSIFIED,
    "Webcast": _L.UNCLASSIFIED,
    "Dataset": _L.UNCLASSIFIED,
    "Preprint": _L.UNCLASSIFIED,
    "Technical Report": _L.UNCLASSIFIED,
    "Government Publication": _L.UNCLASSIFIED,
    "Duplicate Publication": _L.UNCLASSIFIED,
    "Corrected and Republished Article": _L.UNCLASSIFIED,
    RETRACTED_PUBLICATION: _L.UNCLASSIFIED,
}
"""NLM publication type name → the level it supports; a type not listed supports ``unclassified``."""
del _L


def _fold(name: str) -> str:
    """Publication type names compared without regard to case or spacing."""
    return " ".join(name.split()).casefold()


_LEVELS_BY_FOLDED_NAME = {_fold(name): level for name, level in PUBLICATION_TYPE_LEVELS.items()}
_RETRACTED_FOLDED = _fold(RETRACTED_PUBLICATION)
_KIND_LEVELS = {
    DocumentKind.GUIDELINE: EvidenceLevel.GUIDELINE,
    DocumentKind.DRUG_LABEL: EvidenceLevel.REGULATORY,
    DocumentKind.DRUG_INFORMATION: EvidenceLevel.REFERENCE,
}


@dataclass(frozen=True, slots=True)
class Grade:
    """The outcome of grading a document.

    ``kind`` is the document's kind after reclassification (a PubMed practice guideline becomes
    ``guideline``); ``retracted`` documents are kept in the store but excluded from search.
    """

    kind: DocumentKind
    level: EvidenceLevel
    retracted: bool = False


def level_of(publication_type: str) -> EvidenceLevel:
    """The level one NLM publication type supports (case-insensitive; unknown types are unclassified)."""
    return _LEVELS_BY_FOLDED_NAME.get(_fold(publication_type), EvidenceLevel.UNCLASSIFIED)


def grade(kind: DocumentKind, publication_types: Iterable[str]) -> Grade:
    """Grade a document from its kind and publication types; the strongest level any type supports wins.

    >>> grade(DocumentKind.RESEARCH, ("Journal Article", "Meta-Analysis", "Review")).level.label
    'systematic_review'
    >>> grade(DocumentKind.RESEARCH, ("Journal Article", "Practice Guideline")).kind.value
    'guideline'
    """
    types = tuple(publication_types)
    retracted = any(_fold(name) == _RETRACTED_FOLDED for name in types)
    if kind in _KIND_LEVELS:
        return Grade(kind=kind, level=_KIND_LEVELS[kind], retracted=retracted)
    level = min((level_of(name) for name in types), default=EvidenceLevel.UNCLASSIFIED)
    if level is EvidenceLevel.GUIDELINE:
        kind = DocumentKind.GUIDELINE
    return Grade(kind=kind, level=level, retracted=retracted)
