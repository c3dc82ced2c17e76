"""Understanding a question: its intent, the concepts it names, and its abbreviations in context.

``understand("What is the management of NETs?", ...)`` gives a :class:`Question` whose intent is
management, whose ``search_text`` reads "neuroendocrine tumors" for "NETs" (the sense that wins in
this corpus, not norepinephrine transporters), and whose conditions hold the MeSH descriptor
Neuroendocrine Tumors. Questions that are empty, too long or not clinical raise
:class:`~vademecum.errors.QuestionRefused` instead. Everything is rules over data kept at the top of
this module and in the vocabulary; nothing is written for a particular disease.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from vademecum.answer.clinical import ClinicalVocabulary, Role, is_infectious_agent
from vademecum.answer.comparison import find_comparison
from vademecum.answer.population import Population, question_population
from vademecum.errors import QuestionRefused
from vademecum.vocab.abbreviations import AbbreviationDictionary, find_definitions
from vademecum.vocab.drugs import DrugLexicon
from vademecum.vocab.mesh import MeshVocabulary
from vademecum.vocab.normalise import Word, exact_form, words


class Intent(StrEnum):
    """What the question asks for; decides which sections and sentences the article favours."""

    MANAGEMENT = "management"
    DOSING = "dosing"
    DIAGNOSIS = "diagnosis"
    ADVERSE_EFFECTS = "adverse_effects"
    CONTRAINDICATIONS_INTERACTIONS = "contraindications_interactions"
    PROGNOSIS = "prognosis"
    SCREENING_PREVENTION = "screening_prevention"
    MECHANISM = "mechanism"
    COMPARISON = "comparison"


# Cue phrases, as regular expressions matched from a word start on the lower-cased question (with
# abbreviations expanded). Specific intents outrank general ones ("the dose of X for the treatment of
# Y" asks for a dose); within a tier the cue nearest the start of the question wins, since questions
# put what they ask first ("Does treatment with X improve survival?" asks about treatment).
SPECIFIC_CUES: tuple[tuple[Intent, str], ...] = (
    (Intent.CONTRAINDICATIONS_INTERACTIONS, r"contra-?indicat\w*"),
    (Intent.DOSING, r"(?<!-)dos(?:e|es|age|ages|ing)\b|how much\b|how often\b|mg\b|mg/|mcg\b|titrat\w*"),
    (Intent.ADVERSE_EFFECTS, r"side[- ]effects?\b|adverse (?:effects?|events?|reactions?|drug)|safe(?:ty|ly)?\b|harm"),
    (Intent.ADVERSE_EFFECTS, r"(?:hepato|cardio|nephro|oto|neuro|photo|myelo)?toxic(?:ity|ities)?\b"),
    (Intent.ADVERSE_EFFECTS, r"complications?\b|tolerab\w*|boxed warning"),
    (Intent.MECHANISM, r"mechanisms?\b|mode of action|how does .{1,60}? work\b|targeted by\b|targets? of\b"),
    (Intent.MECHANISM, r"inhibited by\b|pathophysiolog\w*|pharmacodynamic\w*|what does \S+ inhibit\b"),
)
# Interaction cues count only when the question names a drug: "the interaction of two proteins" is not.
# Comparisons ("A versus B", "the difference between A and B") are specific too; their cues are in
# vademecum.answer.comparison, which also finds the two options.
INTERACTION_CUES = r"interact\w*|drug[- ]drug|concomitant\w*|co-?administ\w*|together with"
GENERAL_CUES: tuple[tuple[Intent, str], ...] = (
    (Intent.MANAGEMENT, r"treat\w*|manag\w*|therap\w*|options?\b|first[- ]line|indicat\w*|approved for"),
    (Intent.SCREENING_PREVENTION, r"screen\w*|prevent\w*|prophyla\w*|risk reduction|reduc\w* the risk"),
    (Intent.SCREENING_PREVENTION, r"chemoprevent\w*|vaccinat\w*|early detection"),
    (Intent.DIAGNOSIS, r"diagnos\w*|work-?up\b|tests? for\b|testing\b|detect\w*|imaging\b|biomarkers?\b"),
    (Intent.DIAGNOSIS, r"symptoms?\b|signs? of\b|manifestations?\b|differential\b"),
    # "recurrent" names a setting ("How is recurrent X treated?"); recurrence itself is prognosis.
    (Intent.PROGNOSIS, r"prognos\w*|survival\b|outcomes?\b|life expectancy|mortality\b|recurr(?!ent)\w*|predict\w*"),
)
_SPECIFIC = [(intent, re.compile(rf"\b(?:{cue})")) for intent, cue in SPECIFIC_CUES]
_GENERAL = [(intent, re.compile(rf"\b(?:{cue})")) for intent, cue in GENERAL_CUES]
_INTERACTION = re.compile(rf"\b(?:{INTERACTION_CUES})")

CANDIDATE_CONFIDENCE = 0.01
"""Open the :class:`AbbreviationDictionary` passed to :func:`understand` at this ``min_confidence``:
senses below ADAM's usual threshold are candidates the question's context can still pick."""
CLEAR_WIN = 2.0
"""An abbreviation is expanded only when its best sense scores this many times the runner-up."""
MIN_SENSE_CONFIDENCE = 0.03
"""A sense ADAM saw in fewer than this share of definitions is never chosen, whatever the context."""
CONTEXT_BONUS = 2.0
"""Score factor for a sense whose long form shares a word with the rest of the question."""


@dataclass(frozen=True, slots=True)
class Concept:
    """A MeSH descriptor or drug named in the question: ``question.text[start:end] == text``.

    ``ui`` is the MeSH descriptor UI (None for a drug MeSH does not know) and ``name`` the preferred
    name (a drug's generic name). A concept found through an expanded abbreviation spans the
    abbreviation ("NETs" for Neuroendocrine Tumors).
    """

    text: str
    start: int
    end: int
    ui: str | None
    name: str
    role: Role


@dataclass(frozen=True)
class Question:
    """A question understood: what it asks (``intent``) and what it is about.

    ``search_text`` is the question with abbreviations replaced by the long forms in ``expansions``
    (the retrieval query); ``compared`` holds the two options of a comparison; ``terms`` the names of
    the conditions, drugs and procedures, for query expansion; ``others`` the remaining concepts;
    ``population`` whom the question is about (people of any age unless it says otherwise).
    """

    text: str
    intent: Intent
    conditions: tuple[Concept, ...]
    drugs: tuple[Concept, ...]
    procedures: tuple[Concept, ...]
    expansions: dict[str, str]
    search_text: str
    compared: tuple[str, ...] = ()
    others: tuple[Concept, ...] = ()
    population: Population = field(default_factory=Population)
    terms: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = (concept.name for concept in (*self.conditions, *self.drugs, *self.procedures))
        object.__setattr__(self, "terms", tuple(dict.fromkeys(names)))


def understand(
    text: str,
    mesh: MeshVocabulary,
    abbreviations: AbbreviationDictionary,
    drugs: DrugLexicon,
    *,
    max_chars: int = 2000,
    corpus_frequency: Callable[[str], int] | None = None,
) -> Question:
    """Read a clinical question; raise :class:`QuestionRefused` for one the engine should not answer.

    ``abbreviations`` should be opened at :data:`CANDIDATE_CONFIDENCE` so that context can choose
    among senses; ``corpus_frequency(phrase)`` (number of indexed passages containing the phrase), when
    given, favours senses the indexed sources use.
    """
    # Length first: the rest of the checks would walk a 10 MB string.
    if len(text) > max_chars:
        raise QuestionRefused(f"The question is {len(text):,} characters long; the limit is {max_chars:,}.")
    question = text.strip()
    if not question:
        raise QuestionRefused("The question is empty: ask a clinical question.")
    if not any(ch.isalpha() for ch in question):
        raise QuestionRefused("The question has no words: ask a clinical question.")
    vocabulary = ClinicalVocabulary.of(mesh)
    rewrite = _expand_abbreviations(question, mesh, abbreviations, corpus_frequency)
    concepts, trees = _concepts(question, rewrite, vocabulary, drugs)
    concepts = _agents_as_conditions(concepts, trees)
    if not vocabulary.is_clinical(question, trees.values(), has_drug=any(c.role == "drug" for c in concepts)):
        raise QuestionRefused(
            "This does not look like a clinical question: it names no disease, drug, procedure or other"
            " medical concept. Ask about a condition, a treatment, a test or a drug."
        )
    intent, compared = _intent(question, rewrite.text.lower(), concepts, trees)
    by_role = {role: tuple(c for c in concepts if c.role == role) for role in ("condition", "drug", "procedure")}
    return Question(
        text=question,
        intent=intent,
        conditions=by_role["condition"],
        drugs=by_role["drug"],
        procedures=by_role["procedure"],
        expansions=rewrite.expansions,
        search_text=rewrite.text,
        compared=compared,
        others=tuple(c for c in concepts if c.role == "other"),
        population=question_population(question, concepts, trees),
    )


@dataclass(frozen=True, slots=True)
class _Rewrite:
    """The question with abbreviations replaced; ``replaced`` maps new spans back to original ones."""

    text: str
    expansions: dict[str, str]
    replaced: tuple[tuple[int, int, int, int], ...]  # (new_start, new_end, old_start, old_end)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original question that ``text[start:end]`` comes from."""
        shift_start = shift_end = 0
        old_start = old_end = None
        for new_a, new_b, old_a, old_b in self.replaced:
            delta = (old_b - old_a) - (new_b - new_a)
            if new_b <= start:
                shift_start += delta
            elif new_a <= start:
                old_start = old_a
            if new_b <= end:
                shift_end += delta
            elif new_a < end:
                old_end = old_b
        return (
            start + shift_start if old_start is None else old_start,
            end + shift_end if old_end is None else old_end,
        )


def _expand_abbreviations(
    question: str,
    mesh: MeshVocabulary,
    abbreviations: AbbreviationDictionary,
    corpus_frequency: Callable[[str], int] | None,
) -> _Rewrite:
    """Replace abbreviations by their long forms: the question's own definition first, else ADAM in context."""
    tokens = words(question)
    shouting = _shouting(tokens)
    defined = {d.short_form: d for d in find_definitions(question)}
    expansions = {short: d.long_form for short, d in defined.items()}
    inside = [(d.short_start, d.short_end) for d in defined.values()]
    context = {t.key for t in tokens if len(t.key) > 3}
    compounds = [(m.start(), m.end()) for m in _COMPOUND.finditer(question)]
    replacements: list[tuple[int, int, str]] = []
    for token in tokens:
        form = question[token.start : token.end]
        if shouting or not _looks_abbreviated(form) or any(a <= token.start < b for a, b in inside):
            continue
        compound = next((question[a:b] for a, b in compounds if a <= token.start < b), None)
        if compound and (_is_mesh_acronym(mesh, compound) or any(len(p) == 1 for p in compound.split("-"))):
            continue  # "SARS-CoV-2" is a MeSH term; "ASC-H" and "T-ALL" are one name, not ASC or ALL.
        if form not in expansions:
            if _is_mesh_acronym(mesh, form):
                continue  # MeSH names it as written ("AIDS"): the descriptor is the concept.
            long_form = _choose_sense(form, abbreviations, mesh, context - {token.key}, corpus_frequency)
            if long_form is None:
                continue
            expansions[form] = long_form
        replacements.append((token.start, token.end, expansions[form]))
    pieces, replaced, cursor, offset = [], [], 0, 0
    for start, end, long_form in replacements:
        pieces.append(question[cursor:start])
        offset += start - cursor
        replaced.append((offset, offset + len(long_form), start, end))
        pieces.append(long_form)
        offset += len(long_form)
        cursor = end
    pieces.append(question[cursor:])
    return _Rewrite("".join(pieces), expansions, tuple(replaced))


_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")


def _shouting(tokens: list[Word]) -> bool:
    """Whether the question is written in capitals, where capitals say nothing about abbreviations."""
    long_words = [t.exact for t in tokens if len(t.exact) >= 4 and t.exact.isalpha()]
    return bool(long_words) and sum(w.isupper() for w in long_words) > len(long_words) / 2


def _looks_abbreviated(form: str) -> bool:
    """Two or more capitals in a short word: "NETs", "CT", "pNET" (not "Crohn", not "MRI-guided")."""
    return 2 <= len(form) <= 10 and sum(ch.isupper() for ch in form) >= 2


def _is_mesh_acronym(mesh: MeshVocabulary, form: str) -> bool:
    """Whether a MeSH entry term is written exactly so ("AIDS", "HIV"); "PET" only matches the word pet."""
    exact = exact_form(form)
    return any(exact_form(term) == exact for d in mesh.lookup(form)[:3] for term in mesh.entry_terms(d.ui))


@dataclass
class _Sense:
    """ADAM senses of an abbreviation pooled by the MeSH descriptor their long forms name."""

    long_form: str
    confidence: float = 0.0
    words: set[str] = field(default_factory=set)


def _choose_sense(
    form: str,
    abbreviations: AbbreviationDictionary,
    mesh: MeshVocabulary,
    context: set[str],
    corpus_frequency: Callable[[str], int] | None,
) -> str | None:
    """The long form of ``form`` that clearly wins, or None.

    ADAM lists spellings of one sense as separate senses ("acute myeloid leukemia", "...leukaemia");
    senses naming the same MeSH descriptor are pooled. Each pool scores its confidence, raised when
    its long form shares a word with the question and, with ``corpus_frequency``, combined (geometric
    mean) with its share of the corpus's uses of all the long forms.
    """
    pools: dict[str, _Sense] = {}
    for sense in abbreviations.expansions(form)[:12]:
        found = mesh.lookup(sense.long_form)
        pool = pools.setdefault(found[0].ui if found else sense.long_form.casefold(), _Sense(sense.long_form))
        pool.confidence += sense.confidence
        pool.words.update(w.key for w in words(sense.long_form) if len(w.key) > 3)
    candidates = [pool for pool in pools.values() if pool.confidence >= MIN_SENSE_CONFIDENCE]
    if not candidates:
        return None
    frequencies = [corpus_frequency(pool.long_form) + 1 for pool in candidates] if corpus_frequency else None
    scores = []
    for index, pool in enumerate(candidates):
        score = pool.confidence
        if frequencies:
            score = math.sqrt(pool.confidence * frequencies[index] / sum(frequencies))
        if pool.words & context:
            score *= CONTEXT_BONUS
        scores.append((score, pool.long_form))
    scores.sort(reverse=True)
    if len(scores) > 1 and scores[0][0] < CLEAR_WIN * scores[1][0]:
        return None
    return scores[0][1]


def _concepts(
    question: str, rewrite: _Rewrite, vocabulary: ClinicalVocabulary, drugs: DrugLexicon
) -> tuple[list[Concept], dict[str, tuple[str, ...]]]:
    """Concepts in question order, and the tree numbers of every MeSH descriptor named (by UI)."""
    found: list[Concept] = []
    trees: dict[str, tuple[str, ...]] = {}
    expanded = {(a, b) for _, _, a, b in rewrite.replaced}
    for match in vocabulary.mesh.find_terms(rewrite.text):
        start, end = rewrite.original_span(match.start, match.end)
        written = question[start:end]
        if (start, end) not in expanded and _false_friend(vocabulary.mesh, written, match.descriptor.ui):
            continue
        descriptor = match.descriptor
        trees[descriptor.ui] = vocabulary.tree_numbers(descriptor.ui, descriptor.name)
        role = vocabulary.role(descriptor.ui, trees[descriptor.ui])
        found.append(Concept(written, start, end, descriptor.ui, descriptor.name or written, role))
    for mention in drugs.find(question):
        overlapping = [c for c in found if c.start < mention.end and mention.start < c.end]
        if any(
            c.role in ("condition", "procedure") or c.end - c.start > mention.end - mention.start for c in overlapping
        ):
            continue  # MeSH names a longer phrase or a non-drug sense ("pre-exposure prophylaxis").
        same = [c for c in overlapping if (c.start, c.end) == (mention.start, mention.end) and c.ui]
        ui = same[0].ui if same else mention.mesh_id or next((d.ui for d in vocabulary.mesh.lookup(mention.name)), None)
        found = [c for c in found if c not in overlapping]
        found.append(Concept(mention.text, mention.start, mention.end, ui, mention.name, "drug"))
    found.sort(key=lambda c: c.start)
    return found, trees


def _agents_as_conditions(concepts: list[Concept], trees: dict[str, tuple[str, ...]]) -> list[Concept]:
    """A question naming an infectious agent and no particular disease asks about the infection.

    MeSH files "feline leukemia virus" under the viruses, not the diseases, so without this the
    question would have no condition and retrieval would fall back on its words ("leukemia"), which
    name another disease. The agent is the most specific thing the question names: it becomes the
    condition, and a category heading that was one ("infection": Infections) becomes an other concept.
    """
    if any(c.role == "condition" and not _heading(trees.get(c.ui or "", ())) for c in concepts):
        return concepts
    agents = {id(c) for c in concepts if c.role == "other" and c.ui and is_infectious_agent(trees.get(c.ui, ()))}
    if not agents:
        return concepts
    return [
        replace(c, role="condition") if id(c) in agents else replace(c, role="other") if c.role == "condition" else c
        for c in concepts
    ]


def _heading(trees: tuple[str, ...]) -> bool:
    """Whether a descriptor is only a category heading ("Infections" is C01): a kind of thing."""
    return all(len(tree) == 3 for tree in trees)


def _false_friend(mesh: MeshVocabulary, written: str, ui: str) -> bool:
    """An abbreviation matching a lower-case word ("PET" → Pets): capitals that MeSH does not write so."""
    return (
        _looks_abbreviated(written)
        and " " not in written
        and not any(exact_form(term) == exact_form(written) for term in mesh.entry_terms(ui))
    )


def _intent(
    question: str, lowered: str, concepts: list[Concept], trees: dict[str, tuple[str, ...]]
) -> tuple[Intent, tuple[str, ...]]:
    """The intent from cue phrases (specific tier first), and the two options of a comparison.

    Cue positions are read in ``lowered`` (the search text, where "AE" reads "adverse events") and a
    comparison's in the question; expansions shift them a little, which only matters between two cues
    of one tier.
    """
    specific = [(m.start(), intent) for intent, cue in _SPECIFIC if (m := cue.search(lowered))]
    if any(c.role == "drug" for c in concepts) and (m := _INTERACTION.search(lowered)):
        specific.append((m.start(), Intent.CONTRAINDICATIONS_INTERACTIONS))
    comparison = find_comparison(question, concepts, trees)
    if comparison:
        specific.append((comparison.position, Intent.COMPARISON))
    if specific:
        intent = min(specific, key=lambda found: found[0])[1]
        return intent, comparison.options if comparison and intent is Intent.COMPARISON else ()
    general = [(m.start(), intent) for intent, cue in _GENERAL if (m := cue.search(lowered))]
    return (min(general, key=lambda found: found[0])[1] if general else Intent.MANAGEMENT), ()
