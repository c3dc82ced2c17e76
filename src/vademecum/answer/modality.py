"""Treatment modality of a sentence, from MeSH and the source's own headings, for any disease.

Modalities are broad classes of treatment (surgery, radiation therapy, chemotherapy, targeted
therapy, …; :data:`~vademecum.answer.modality_rules.LABELS`). The one table that maps MeSH classes
to them, the same for every disease, is :mod:`vademecum.answer.modality_rules`. A sentence gets
its modality from, in order:

1. a drug or drug class it names: the drug's MeSH pharmacological actions ("Protein Kinase
   Inhibitors" → targeted therapy, "Antineoplastic Agents, Alkylating" → chemotherapy), or a
   substance named as a class ("somatostatin analogues", "VEGF inhibitors");
2. a procedure it names, by its MeSH tree (E04 surgical procedures → surgery, E02.815 radiotherapy
   → radiation therapy); ablation or embolization of the liver is liver-directed therapy;
3. the nearest heading above the passage that is itself a therapy heading ("Surgery",
   "Radionuclides", "Somatostatin Analogues"), read the same way.

Within a sentence the first mention counts, except that a radionuclide, then a liver-directed
procedure, wins over any drug. Terms that only set the scene ("after surgery", "radiation-induced",
"greater activity than X") are skipped. The heading wins over the sentence when the sentence names
the heading's own modality, when the sentence's only treatment is an operation named in passing,
or when the drug's MeSH class is ambiguous (:attr:`Rule.defer`). A heading that names a substance
("Somatostatin Analogues", "Interferons") refines its broad modality: its sentences are grouped
under the source's heading, and :func:`unify` folds the broad group into it when an article has
only that one refinement.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from vademecum.answer.modality_rules import (
    ALIASES,
    DRUG_THERAPY,
    INN_STEMS,
    LABELS,
    LIVER_DIRECTED,
    LOCOREGIONAL,
    RADIONUCLIDE,
    RULES,
    SURGERY,
    TRANSPLANTATION,
    UI_RULES,
    Rule,
)
from vademecum.vocab.mesh import MeshVocabulary, TermMatch

_PROCEDURES = frozenset({SURGERY, LIVER_DIRECTED, LOCOREGIONAL, TRANSPLANTATION})
# Words that say a sentence is about giving a treatment, not about a substance mentioned in passing.
GIVING = re.compile(
    r"\b(?:treat\w*|therap\w*|administ\w*|given|giving|receiv\w*|dos(?:e|es|ing|age)|regimens?|randomi[sz]ed"
    r"|versus|compared|resect\w*|surg\w*|excision|ablation|embolization|radiation|irradiat\w*|radiotherap\w*"
    r"|transplant\w*|palliat\w*|effective|infusion|injection|mg)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Modality:
    """A group of treatment options: ``key`` to group by, ``label`` to show.

    ``family`` is set on a refinement taken from a source heading (key ``"hormone:D013004"``, label
    "Somatostatin Analogues", family ``"hormone"``); ``broad`` is the broad modality either way.
    """

    key: str
    label: str
    family: str | None = None

    @property
    def broad(self) -> str:
        """The broad modality key (the key itself unless this is a refinement)."""
        return self.family or self.key


class DrugMentionLike(Protocol):
    """What :class:`vademecum.vocab.drugs.DrugMention` offers that classification reads."""

    @property
    def start(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def mesh_id(self) -> str | None: ...


class DrugFinder(Protocol):
    """A drug lexicon (:class:`vademecum.vocab.drugs.DrugLexicon`): drug names found in a text."""

    def find(self, text: str) -> Sequence[DrugMentionLike]: ...


_ALIAS_PATTERNS = tuple((re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), ui) for pattern, ui in ALIASES)

# A substance named as a class of treatment: "somatostatin analogues", "VEGF pathway inhibitors",
# "cyclin-dependent kinase (CDK) inhibitor", "HER2-directed"; or "anti-VEGF", "therapies targeting VEGF".
_CLASS_AFTER = re.compile(
    r"\s*(?:\([^)]{1,20}\)\s*)?[-–]?\s*(?:(?:receptor|pathway)\s+)?"
    r"(?:(?P<blocker>antagonists?|inhibitors?|blockers?|blockade|directed|targeted|targeting)|analog(?:ue)?s?|agonists?)\b",
    re.IGNORECASE,
)
_CLASS_BEFORE = re.compile(r"(?:\banti-?|\btargeting\s+|\binhibitors? of\s+|\bblocking\s+)$", re.IGNORECASE)
# Terms that set the scene rather than name the treatment: "radiation-induced", "after surgery",
# "Post–Breast-Conserving Surgery", and comparators ("greater activity than somatostatin analogues").
_EFFECT_AFTER = re.compile(r"[-–\s]?(?:induced|related|associated)\b", re.IGNORECASE)
_SETTING_BEFORE = re.compile(
    r"(?:\bpost|\bafter|\bfollowing|\bprior to|\bbefore|\bthan(?: the)?|\bcompar(?:ed|able) (?:with|to)"
    r"|\bsimilar to|\bversus|\bvs\.?|\binstead of)[\s\-–]*$",
    re.IGNORECASE,
)
_RADIOLABEL = re.compile(r"\bradio-?label(?:l)?ed\b|\bradioactive\b|\b\d{2,3}[A-Z][a-z]?-[A-Za-z]", re.IGNORECASE)
# Isotopes as NCI and labels write them ("lutetium Lu 177", "yttrium-90", "lutetium-labeled"); the
# word must be a chemical element in MeSH. "131I-MIBG" and "111In-labeled" are caught above.
_ISOTOPE = re.compile(r"\b([A-Za-z]+)(?:(?: [A-Z][a-z]?)?[ -]\d{2,3}\b(?![.,]\d)|-label(?:l)?ed\b)")
_ELEMENTS = "D01.268"
_THERAPY_WORDS = re.compile(r"therap|treat|administ|dos(?:e|ing)|regimen", re.IGNORECASE)
# Isotopes in a sentence about imaging are tracers ("18F-FDG PET", "123I-MIBG for diagnostic purposes").
_IMAGING_WORDS = re.compile(
    r"\b(?:PET|SPECT|CT|MRI)\b|\b(?i:scans?|scanning|scintigraphy|imaging|tomography|magnetic resonance|diagnostic)\b"
)
# Where a liver-directed procedure is aimed: the liver, its artery, its diseases and tumours, and
# liver surgery; MeSH has no entry for the adjective "hepatic".
_LIVER_TREES = ("A03.620", "A07.015.114.407", "C06.552", "C04.588.274.623", "E04.210.556", "E04.936.450.490")
_HEPATIC = re.compile(r"\bhepatic\b", re.IGNORECASE)
_METASTASIS_TREES = ("C04.697",)

# Research themes when no modality is found: the abstract's own section label, by type.
_ABSTRACT_THEMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"RESULT|CONCLUSION|FINDING|INTERPRETATION|DISCUSSION|OUTCOME", re.IGNORECASE), "Findings"),
    (re.compile(r"METHOD|DESIGN|SETTING|PATIENT|PARTICIPANT|INTERVENTION|MEASURE", re.IGNORECASE), "Methods"),
    (re.compile(r"BACKGROUND|INTRODUCTION|OBJECTIVE|PURPOSE|AIM|CONTEXT|RATIONALE", re.IGNORECASE), "Background"),
    (re.compile(r"LIMITATION", re.IGNORECASE), "Limitations"),
)


@dataclass(frozen=True, slots=True)
class _Mention:
    """A treatment named in a text at ``start``: a procedure (E/H/N tree) or a drug or drug class.

    ``substance`` is set when a substance was read as a class of treatment ("somatostatin
    analogues"): a heading that does so refines its modality.
    """

    start: int
    modality: Modality
    procedure: bool
    ui: str | None = None
    substance: bool = False
    defer: bool = False


def broad_modality(key: str) -> Modality:
    """The broad modality with this key (one of :data:`LABELS`)."""
    return Modality(key, LABELS[key])


class ModalityClassifier:
    """Classifies sentences for one vocabulary and drug lexicon, caching what it looks up."""

    def __init__(self, mesh: MeshVocabulary, drugs: DrugFinder | None = None) -> None:
        self._mesh = mesh
        self._drugs = drugs
        self._trees_cache: dict[str, tuple[str, ...]] = {}
        self._descriptor_cache: dict[tuple[str, str], Rule | None] = {}
        self._heading = lru_cache(maxsize=4096)(self._heading_modality)
        # The same guideline passages come back for many questions; classifying costs ~0.4 ms
        # (MeSH and drug look-ups), a cache hit ~1 µs.
        self._cached = lru_cache(maxsize=16384)(self._classify)
        self._heading_context = lru_cache(maxsize=4096)(self._context)

    def classify(self, sentence: str, section_path: Sequence[str] = ()) -> Modality | None:
        """The modality of ``sentence`` under the headings ``section_path`` (top first), or None."""
        return self._cached(sentence, tuple(section_path))

    def _classify(self, sentence: str, section_path: tuple[str, ...]) -> Modality | None:
        terms = self._mesh.find_terms(sentence)
        liver, metastasis = self._context(sentence, terms)
        for heading in section_path:
            heading_liver, heading_metastasis = self._heading_context(heading)
            liver, metastasis = liver or heading_liver, metastasis or heading_metastasis
        mentions = self._mentions(sentence, terms, liver=liver, metastasis=metastasis)
        chosen = _choose(mentions)
        heading = next((m for m in map(self._heading, reversed(section_path)) if m is not None), None)
        if chosen is None:
            return heading
        if heading is None:
            return chosen.modality
        # A sentence that names its heading's modality belongs under the heading, whatever else it
        # names ("IFN alfa may show greater antitumor activity than somatostatin analogues").
        if any(m.modality.key == heading.broad for m in mentions):
            return heading
        # Under a therapy heading, an operation named in passing is the setting ("… requiring
        # cholecystectomy" under "Somatostatin Analogues"), not the subject; see also Rule.defer.
        surgical = chosen.procedure and chosen.modality.key in _PROCEDURES
        if (surgical or chosen.defer) and heading.broad not in _PROCEDURES:
            return heading
        return heading if heading.family == chosen.modality.key else chosen.modality

    def _heading_modality(self, heading: str) -> Modality | None:
        """The modality a heading stands for, refined to the heading when it names a substance."""
        terms = self._mesh.find_terms(heading)
        liver, metastasis = self._context(heading, terms)
        chosen = _choose(self._mentions(heading, terms, liver=liver, metastasis=metastasis, heading=True))
        if chosen is None:
            return None
        if chosen.substance:
            return Modality(f"{chosen.modality.key}:{chosen.ui}", heading, chosen.modality.key)
        return chosen.modality

    def _mentions(
        self, text: str, terms: Sequence[TermMatch], *, liver: bool, metastasis: bool, heading: bool = False
    ) -> list[_Mention]:
        """Treatments named in ``text`` (whose MeSH terms are ``terms``), in order of position."""
        found: list[_Mention] = []
        for term in terms:
            ui = term.descriptor.ui
            if _incidental(text, term.start, term.end):
                continue
            if ui == DRUG_THERAPY and "chemo" not in term.text.casefold():
                continue
            after = _CLASS_AFTER.match(text, term.end)
            if (after and after.group("blocker")) or _CLASS_BEFORE.search(text, 0, term.start):
                named = "blocked"
            elif after or (heading and text.strip(" .").casefold() == term.text.casefold()):
                named = "named"
            else:
                named = ""
            found.extend(self._mention(term.start, ui, named))
        for pattern, ui in _ALIAS_PATTERNS:
            for match in pattern.finditer(text):
                if not _incidental(text, match.start(), match.end()):
                    found.extend(self._mention(match.start(), ui, ""))
        found.extend(self._radionuclides(text))
        if self._drugs is not None:
            found.extend(self._drug_mentions(text))
        if not any(m.procedure for m in found) and self._diagnostic(text, terms):
            return []
        found = [self._aimed(m, liver, metastasis) for m in found]
        return sorted(found, key=lambda m: m.start)

    def _mention(self, start: int, ui: str, named: str) -> list[_Mention]:
        rule = self._rule(ui, named)
        if rule is None or rule.key is None:
            return []
        procedure = rule.tree[0] in "EHN"
        return [_Mention(start, broad_modality(rule.key), procedure, ui, rule.scope != "any", rule.defer)]

    def _rule(self, ui: str, named: str) -> Rule | None:
        """The first rule that covers a MeSH descriptor (its own tree numbers or its drug classes').

        ``named`` says how the text names it: ``"blocked"`` (its inhibitors), ``"named"`` (as a
        class, e.g. its analogues) or ``""``.
        """
        key = (ui, named)
        if key not in self._descriptor_cache:
            found = UI_RULES.get(ui)
            if found is None:
                own = self._trees(ui)
                actions = self._mesh.pharmacological_actions(ui)
                via_actions = tuple(tree for action in actions for tree in self._trees(action.ui))
                scoped = {
                    "any": own + via_actions,
                    "drug": own if actions else (),
                    "named": own if named else (),
                    "blocked": own if named == "blocked" else (),
                }
                found = next((r for r in RULES if any(_under(t, r.tree) for t in scoped[r.scope])), None)
            self._descriptor_cache[key] = found
        return self._descriptor_cache[key]

    def _trees(self, ui: str) -> tuple[str, ...]:
        if ui not in self._trees_cache:
            self._trees_cache[ui] = tuple(self._mesh.tree_numbers(ui))
        return self._trees_cache[ui]

    def _radionuclides(self, text: str) -> list[_Mention]:
        """Radiolabelled agents and isotopes written as isotopes ("yttrium Y 90", "131I-MIBG")."""
        if _IMAGING_WORDS.search(text) and not _THERAPY_WORDS.search(text):
            return []
        found = [_Mention(m.start(), broad_modality(RADIONUCLIDE), False) for m in _RADIOLABEL.finditer(text)]
        for match in _ISOTOPE.finditer(text):
            element = self._mesh.lookup(match.group(1))
            if any(_under(tree, _ELEMENTS) for d in element[:1] for tree in self._trees(d.ui)):
                found.append(_Mention(match.start(), broad_modality(RADIONUCLIDE), False))
        return found

    def _drug_mentions(self, text: str) -> list[_Mention]:
        """Drugs the lexicon finds: the MeSH descriptor of the drug's name, else the lexicon's MeSH id.

        A drug that no rule covers is grouped under its therapeutic use in MeSH ("Antiemetics").
        """
        assert self._drugs is not None
        found = []
        for mention in self._drugs.find(text):
            uis = [d.ui for d in self._mesh.lookup(mention.name)[:1]] + [
                mention.mesh_id or "",
                getattr(mention, "package_mesh_id", None) or "",
            ]
            name = mention.name.casefold()
            uis += [ui for stem, ui in INN_STEMS if name.endswith(stem)]
            for ui in filter(None, uis):
                mentions = self._mention(mention.start, ui, "")
                if not mentions and (use := self._therapeutic_use(ui)) is not None:
                    mentions = [_Mention(mention.start, use, False, ui)]
                if mentions:
                    found.extend(mentions)
                    break
        return found

    def _therapeutic_use(self, ui: str) -> Modality | None:
        classes = [self._mesh.descriptor(ui), *self._mesh.pharmacological_actions(ui)]
        for action in classes:
            if action is not None and action.name and any(_under(t, "D27.505.954") for t in self._trees(action.ui)):
                return Modality(f"pa:{action.ui}", action.name)
        return None

    def _diagnostic(self, text: str, terms: Sequence[TermMatch]) -> bool:
        """A statement about diagnosis (a diagnostic procedure and no word of treatment)."""
        for term in terms:
            trees = self._trees(term.descriptor.ui)
            if any(_under(t, "E01") for t in trees) and not any(_under(t, p) for t in trees for p in ("E02", "E04")):
                return not _THERAPY_WORDS.search(text)
        return False

    def _context(self, text: str, terms: Sequence[TermMatch] | None = None) -> tuple[bool, bool]:
        """Whether ``text`` names the liver, and whether it names metastasis."""
        terms = self._mesh.find_terms(text) if terms is None else terms
        trees = [tree for term in terms for tree in self._trees(term.descriptor.ui)]
        liver = bool(_HEPATIC.search(text)) or any(_under(tree, prefix) for tree in trees for prefix in _LIVER_TREES)
        metastasis = any(_under(tree, prefix) for tree in trees for prefix in _METASTASIS_TREES)
        return liver, metastasis

    def _aimed(self, mention: _Mention, liver: bool, metastasis: bool) -> _Mention:
        """Ablation or embolization of the liver, or liver surgery for metastases: liver-directed."""
        key = mention.modality.key
        liver_surgery = mention.ui is not None and any(
            _under(tree, prefix) for tree in self._trees(mention.ui) for prefix in _LIVER_TREES
        )
        if (key == LOCOREGIONAL and liver) or (key in (SURGERY, TRANSPLANTATION) and liver_surgery and metastasis):
            return _Mention(mention.start, broad_modality(LIVER_DIRECTED), True, mention.ui)
        return mention


def _under(tree: str, prefix: str) -> bool:
    return tree == prefix or tree.startswith(prefix + ".")


def _incidental(text: str, start: int, end: int) -> bool:
    """A term that sets the scene: "radiation-induced", "after surgery", "Post–Breast-Conserving Surgery"."""
    return bool(_EFFECT_AFTER.match(text, end) or _SETTING_BEFORE.search(text, max(0, start - 24), start))


def _choose(mentions: Sequence[_Mention]) -> _Mention | None:
    """The mention that gives a text its modality: drug classes before procedures, first mention first.

    A radionuclide comes first of all (a radiolabelled analogue is radionuclide therapy), then a
    liver-directed procedure (chemoembolization delivers its drug to the liver).
    """
    for key in (RADIONUCLIDE, LIVER_DIRECTED):
        preferred = next((m for m in mentions if m.modality.key == key), None)
        if preferred is not None:
            return preferred
    drugs = [m for m in mentions if not m.procedure]
    return drugs[0] if drugs else (mentions[0] if mentions else None)


_CLASSIFIERS: weakref.WeakKeyDictionary[MeshVocabulary, list[tuple[DrugFinder | None, ModalityClassifier]]] = (
    weakref.WeakKeyDictionary()
)


def classifier_for(mesh: MeshVocabulary, drugs: DrugFinder | None = None) -> ModalityClassifier:
    """The shared classifier of a vocabulary and lexicon (its caches outlive one call)."""
    entries = _CLASSIFIERS.setdefault(mesh, [])
    for known, classifier in entries:
        if known is drugs:
            return classifier
    classifier = ModalityClassifier(mesh, drugs)
    entries.append((drugs, classifier))
    return classifier


def classify(
    sentence: str, section_path: Sequence[str], mesh: MeshVocabulary, drugs: DrugFinder | None = None
) -> Modality | None:
    """The treatment modality of ``sentence`` in a passage under ``section_path``, or None.

    See the module docstring for the order of evidence; uses :func:`classifier_for`'s caches.
    """
    return classifier_for(mesh, drugs).classify(sentence, section_path)


def theme_of(
    section_path: Sequence[str], sentence: str, mesh: MeshVocabulary, drugs: DrugFinder | None = None
) -> Modality:
    """The theme of a research sentence: its modality, else the type of its abstract section.

    A modality names the theme only when the sentence is about giving a treatment (:data:`GIVING`): a
    sentence that merely mentions a drug (a tracer, a biomarker) is not about its drug class.

    Section labels are grouped by type ("RESULTS", "CONCLUSIONS" → Findings; "METHODS",
    "DESIGN" → Methods; "BACKGROUND", "OBJECTIVE" → Background; "LIMITATIONS"); an unlabelled
    abstract is Findings.
    """
    modality = classify(sentence, (), mesh, drugs) if GIVING.search(sentence) else None
    if modality is not None:
        return modality
    label = section_path[-1] if section_path else ""
    theme = next((theme for pattern, theme in _ABSTRACT_THEMES if pattern.search(label)), "Findings")
    return Modality(f"section:{theme.casefold()}", theme)


def unify(modalities: Iterable[Modality]) -> dict[Modality, Modality]:
    """The group each modality of an article is shown under.

    A refinement taken from a source heading absorbs its broad modality when it is the only
    refinement of that modality in the article (octreotide sentences from other sections join the
    guideline's "Somatostatin Analogues"); refinements with the same key share the first label seen.
    """
    seen = list(dict.fromkeys(modalities))
    by_key: dict[str, Modality] = {}
    for modality in seen:
        by_key.setdefault(modality.key, modality)
    refinements: dict[str, set[str]] = {}
    for modality in seen:
        if modality.family is not None:
            refinements.setdefault(modality.family, set()).add(modality.key)
    groups = {}
    for modality in seen:
        target = by_key[modality.key]
        if modality.family is None and len(refinements.get(modality.key, ())) == 1:
            target = by_key[next(iter(refinements[modality.key]))]
        groups[modality] = target
    return groups
