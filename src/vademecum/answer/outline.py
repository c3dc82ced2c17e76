"""The guideline's own structure as the skeleton of the answer: bottom line, option lists by setting, agents.

Composition of *From the Guidelines* starts from the whole chosen guideline documents, read in document
order, not from scattered search hits:

- **sections on intent**: a treatment question reads the treatment sections, a diagnosis question the
  diagnosis sections, and so on (:func:`on_intent`); background sections (general information,
  classification, staging) never answer a treatment question;
- **options by setting** (:func:`option_settings`): every list the guideline introduces as options
  ("Treatment options for stage III MCC include:") or places under an options heading ("Treatment
  Options for Recurrent …") is quoted whole, in order, with its own numbers, nesting and levels of
  evidence, under the guideline's own heading; a setting the question names ("stage IV", "recurrent",
  "first-line") comes first;
- **agents** (:func:`agents`): every drug the treatment sections give a heading of its own or an
  "Evidence (drug):" block gets an entry with the guideline's description of it and its evidence (the
  trial, the first result, the FDA approval);
- **bottom line** (:func:`bottom_line`): up to three of the guideline's own statements of what is
  standard, preferred, first-line or the mainstay.

Nothing here writes clinical text: groups are headed by the source's headings, every sentence is cut
from its passage by character offsets. The rules are about how guidelines are written, never about a
disease.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from vademecum.answer import sentences
from vademecum.answer.article import Bullet, BulletGroup, CitedSentence, SourceLocation
from vademecum.answer.retrieve import ConceptMatcher, Evidence
from vademecum.answer.understand import Intent
from vademecum.vocab.drugs import DrugLexicon, DrugMention

# A noun after a drug's name that makes the phrase a class of drugs ("somatostatin analogues").
DRUG_CLASS_NOUN = re.compile(
    r"\s*(?:-\s*)?(?:analog(?:ue)?s?|inhibitors?|agonists?|antagonists?|blockers?|derivatives?|agents?|conjugates?)\b",
    re.IGNORECASE,
)
# Words that say a sentence is about giving a treatment, not about a substance mentioned in passing.
GIVING = re.compile(
    r"\b(?:treat\w*|therap\w*|administ\w*|given|giving|receiv\w*|dos(?:e|es|ing|age)|regimens?|randomi[sz]ed"
    r"|versus|compared|resect\w*|surg\w*|excision|ablation|embolization|radiation|irradiat\w*|radiotherap\w*"
    r"|transplant\w*|palliat\w*|effective|infusion|injection|mg)\b",
    re.IGNORECASE,
)

# Headings of the source sections that hold what each intent asks about (stems, any disease).
SECTION_WORDS: dict[Intent, tuple[str, ...]] = {
    Intent.MANAGEMENT: ("treat", "therap", "management", "surg", "follow-up", "surveillance", "monitoring"),
    Intent.COMPARISON: ("treat", "therap", "management"),
    Intent.DOSING: ("dosage", "dose", "administration", "treat", "therap"),
    Intent.DIAGNOSIS: ("diagnos", "evaluation", "work-up", "imaging", "tests", "markers", "presentation"),
    Intent.ADVERSE_EFFECTS: ("adverse", "side effects", "toxicit", "complications", "late effects"),
    Intent.CONTRAINDICATIONS_INTERACTIONS: ("contraindication", "interaction", "warnings"),
    Intent.PROGNOSIS: ("prognos", "survival", "outcome"),
    Intent.SCREENING_PREVENTION: ("screening", "prevention", "risk"),
    Intent.MECHANISM: ("mechanism", "pharmacology", "biology", "pathogenesis"),
}
# Top-level sections that describe the disease rather than what to do about it.
BACKGROUND = re.compile(
    r"^(?:general information|cellular|stage information|staging|classification|histopatholog|incidence"
    r"|epidemiology|anatomy|pathogenesis|risk factors|genomics|molecular|key references|tumor biology"
    r"|world health organization|types?\b)",
    re.IGNORECASE,
)
_BACKGROUND_FOR = frozenset({Intent.MANAGEMENT, Intent.COMPARISON, Intent.DOSING})

# How guidelines introduce and head their option lists.
# "Treatment Options for Stage III …" heads a setting; "Treatment Option Overview" introduces the modalities.
OPTIONS_HEADING = re.compile(
    r"\b(?:treatment|therapy|therapeutic|management)\s+options?\b(?!\s+overview)", re.IGNORECASE
)
OPTIONS_LEAD = re.compile(
    r"\boptions?\b[^.:;]{0,80}:\s*$|\boptions?\b[^.:;]{0,200}?\b(?:include|includes|are|consist)\b|\b(?:standard|recommended)\s+"
    r"(?:treatment|therapy|approach)\w*\b[^.:;]{0,200}?\b(?:include|includes|is|are|consist)\b",
    re.IGNORECASE,
)
EVIDENCE_LEAD = re.compile(r"^\s*Evidence\s*\(([^()]{1,150})\)\s*:", re.IGNORECASE)
# A guideline's own words for what is done first or by default (weights: how plainly they say it).
STANDARD_CUES: tuple[tuple[re.Pattern[str], float], ...] = (
    (
        re.compile(
            r"\b(?:standard of care|standard (?:treatment|therapy|approach|management)|treatment of choice"
            r"|mainstays?|cornerstone|is the standard|are the standard|first-line|frontline|front-line"
            r"|preferred)\b",
            re.IGNORECASE,
        ),
        2.0,
    ),
    (re.compile(r"\b(?:recommended|is indicated|are indicated|primary treatment|standard)\b", re.IGNORECASE), 1.0),
)
# A standard stated as such ("… are the mainstays of management", "is the preferred initial therapy").
STANDARD_PREDICATE = re.compile(
    r"\b(?:is|are|remains?|has become|have become|considered|represents?)\b[^.;]{0,40}?\b(?:the\s+)?"
    r"(?:standard|preferred|mainstays?|treatment of choice|first-line|cornerstone|recommended)\b",
    re.IGNORECASE,
)
# Sentences that report a study or a trial, or point to trials: findings, not what is done.
REPORTS_STUDY = re.compile(
    r"\b(?:studied|studies|study|trials?|randomi[sz]ed|series|enrollment|enrol\w*|evaluation|investigators"
    r"|retrospective|prospective|cohort|phase [IV]+|\d+ patients)\b",
    re.IGNORECASE,
)
# The section that surveys a guideline's treatments, and the follow-up sections (part of management).
OVERVIEW = re.compile(r"\boverview\b|\bgeneral (?:therapeutic|treatment) approach", re.IGNORECASE)
FOLLOW_UP = re.compile(r"\b(?:follow-up|surveillance|monitoring)\b", re.IGNORECASE)
# Words that name a setting (disease extent, course, line of therapy, risk); a stage is matched apart.
SETTING_WORDS = re.compile(
    r"\b(?:recurr\w*|relaps\w*|refractory|metasta\w*|advanced|locali[sz]ed|local|regional|early|"
    r"first-line|second-line|later-line|adjuvant|neoadjuvant|unresectable|resectable|inoperable|operable|"
    r"low-risk|intermediate-risk|high-risk|newly diagnosed|untreated|previously treated|maintenance|"
    r"progressive|residual|limited|extensive|persistent|in situ|noninvasive|invasive)\b",
    re.IGNORECASE,
)
_STAGE = re.compile(r"\bstages?\s+((?:(?:0|[IV]{1,4}[A-D]?\d?)(?:\s*(?:,|and|or|to|-|–|through)\s*)?)+)", re.IGNORECASE)
_ROMAN = re.compile(r"0|[IV]{1,4}", re.IGNORECASE)
_STEM = {"recurr": "recurr", "relaps": "recurr", "metasta": "metasta", "locali": "local"}

MAX_BOTTOM_LINE = 3
# The primary guideline speaks first: another document's statement only when it has too few of its own.
PRIMARY_FIRST = 5.0
BOTTOM_LINE_MAX_WORDS = 60
MAX_AGENTS = 16
AGENT_BULLETS = 1
SETTING_PARAGRAPHS = 3
SETTING_PARAGRAPH_SENTENCES = 2
STATEMENT_PARAGRAPHS = 4
AGENT_HEADING_WORDS = 5
APPROVAL = re.compile(r"\b(?:FDA|Food and Drug Administration)\b[^.]*\bapprov|\bapprov\w*\b[^.]*\bFDA\b")
HEADING_SEPARATOR = " › "


@dataclass(frozen=True, slots=True)
class Outline:
    """The structured part of *From the Guidelines*, and the passages it quotes (so nothing repeats)."""

    bottom_line: tuple[Bullet, ...]
    settings: tuple[BulletGroup, ...]
    agents: tuple[BulletGroup, ...]
    quoted: frozenset[int]
    modalities_heading: str = ""
    modalities: tuple[BulletGroup, ...] = ()


def on_intent(path: Sequence[str], intent: Intent) -> bool:
    """Whether a passage under the headings ``path`` is about what the question asks."""
    if not path:
        return False
    if intent in _BACKGROUND_FOR and BACKGROUND.match(path[0]):
        # Follow-up is part of management even where a summary files it under its general information.
        return intent is Intent.MANAGEMENT and any(FOLLOW_UP.search(heading) for heading in path[1:])
    joined = " ".join(path).casefold()
    return any(word in joined for word in SECTION_WORDS[intent])


def build_outline(
    intent: Intent,
    question_text: str,
    documents: Sequence[Sequence[Evidence]],
    matcher: ConceptMatcher,
    drugs: DrugLexicon,
    question_drugs: Sequence[str] = (),
) -> Outline:
    """The outline of the chosen guideline documents (each a sequence of its passages in document order,
    the primary document first) for a question with ``intent``."""
    relevant = [[p for p in passages if on_intent(p.section_path, intent)] for passages in documents]
    primary_title = documents[0][0].title if documents and documents[0] else ""
    # A document other than the primary one is named beside what is quoted from it.
    notes = [
        None if not passages or passages[0].title == primary_title else f"From {passages[0].title}."
        for passages in relevant
    ]
    settings: list[BulletGroup] = []
    agent_groups: list[BulletGroup] = []
    quoted: set[int] = set()
    if intent in (Intent.MANAGEMENT, Intent.COMPARISON):
        for passages, note in zip(relevant, notes, strict=True):
            for group, used in option_settings(passages, note):
                settings.append(group)
                quoted.update(used)
        settings = setting_first(settings, question_text)
    if intent in (Intent.MANAGEMENT, Intent.COMPARISON, Intent.DOSING):
        agent_groups = agents([p for passages in relevant for p in passages], drugs, question_drugs)
    if intent is Intent.DOSING and question_drugs:
        # A dose asked for a named drug is answered by that drug's entry, not by every agent's.
        wanted = {name.casefold() for name in question_drugs}
        agent_groups = [g for g in agent_groups if g.drug and g.drug.casefold() in wanted] or agent_groups
    options = set(quoted)
    quoted.update(_passage_ids(agent_groups))
    bottom = bottom_line(relevant, question_text, matcher, options)
    heading, modalities = "", []
    if intent in (Intent.MANAGEMENT, Intent.COMPARISON):
        for passages, note in zip(relevant, notes, strict=True):
            found_heading, found = modality_sections([p for p in passages if p.passage_id not in quoted], drugs, note)
            heading = heading or found_heading
            modalities.extend(found)
    quoted.update(_passage_ids(modalities))
    return Outline(tuple(bottom), tuple(settings), tuple(agent_groups), frozenset(quoted), heading, tuple(modalities))


# -- settings ---------------------------------------------------------------------------------------


def option_settings(passages: Sequence[Evidence], note: str | None = None) -> list[tuple[BulletGroup, set[int]]]:
    """The option lists of one document's passages, each quoted whole under the guideline's heading.

    A list is an option list when its lead-in says it lists options ("Evidence (…):" lists and lists
    with no lead-in are evidence, not options). An options section with no option list
    anywhere in it quotes the opening sentences of its paragraphs instead (options written as prose).
    """
    lists = lists_of(passages)
    order: list[tuple[str, int | tuple[str, ...]]] = []
    prose: dict[tuple[str, ...], list[Evidence]] = defaultdict(list)
    for passage in passages:
        if passage.block_id is not None and lists.get(passage.block_id, [None])[0] is passage:
            order.append(("list", passage.block_id))
        elif passage.block == "paragraph" and _options_heading_index(passage.section_path) is not None:
            if passage.section_path not in prose:
                order.append(("prose", passage.section_path))
            prose[passage.section_path].append(passage)
    options = {key for key, items in lists.items() if _is_option_list(items)}
    listed = {_options_section(lists[key][0].section_path) for key in options}
    found: list[tuple[BulletGroup, set[int]]] = []
    for kind, key in order:
        if kind == "list" and key in options and isinstance(key, int):
            found.append(_list_group(lists[key], note))
        elif kind == "prose" and isinstance(key, tuple) and _options_section(key) not in listed:
            group = _prose_group(prose[key], note)
            if group is not None:
                found.append(group)
    return found


def _options_section(path: Sequence[str]) -> tuple[str, ...]:
    """The path down to the options heading (the whole path when there is none)."""
    index = _options_heading_index(path)
    return tuple(path if index is None else path[: index + 1])


def _options_heading_index(path: Sequence[str]) -> int | None:
    for index, heading in enumerate(path):
        if OPTIONS_HEADING.search(heading):
            return index
    return None


def _lead_of(item: Evidence) -> str:
    return item.text[: item.lead_end].strip()


def _is_option_list(items: Sequence[Evidence]) -> bool:
    """Whether a list is an option list: its lead-in (the sentence that introduces it) says it lists options."""
    lead = _lead_of(items[0])
    if not lead or EVIDENCE_LEAD.match(lead):
        return False
    lead_sentences = sentences.split_sentences(lead)
    return bool(OPTIONS_LEAD.search(lead_sentences[-1].text if lead_sentences else lead))


def _setting_heading(path: Sequence[str]) -> str:
    index = _options_heading_index(path)
    if index is None:
        return path[-1] if path else ""
    return HEADING_SEPARATOR.join(path[index:])


def _list_group(items: Sequence[Evidence], note: str | None) -> tuple[BulletGroup, set[int]]:
    first = items[0]
    lead = lead_in(first)
    bullets = tuple(bullet for bullet in (item_bullet(item) for item in items) if bullet.sentences)
    return BulletGroup(_setting_heading(first.section_path), bullets, lead=lead, note=note), {
        item.passage_id for item in items
    }


def lead_in(item: Evidence) -> tuple[CitedSentence, ...]:
    """The lead-in a list's first item carries ("Treatment options for … include:"), quoted; empty if none."""
    lead_text = item.text[: item.lead_end].rstrip()
    if not lead_text or item.depth:
        return ()
    start = len(lead_text) - len(lead_text.lstrip())
    return (CitedSentence(lead_text[start:], location(item, start, len(lead_text))),)


def lists_of(passages: Iterable[Evidence]) -> dict[int, list[Evidence]]:
    """The list items among ``passages``, by list (``block_id``), in document order."""
    lists: dict[int, list[Evidence]] = defaultdict(list)
    for passage in passages:
        if passage.block == "list_item" and passage.block_id is not None:
            lists[passage.block_id].append(passage)
    return lists


def _prose_group(paragraphs: Sequence[Evidence], note: str | None) -> tuple[BulletGroup, set[int]] | None:
    bullets = []
    used = set()
    for paragraph in paragraphs[:SETTING_PARAGRAPHS]:
        cited = quotable_sentences(paragraph)[:SETTING_PARAGRAPH_SENTENCES]
        if cited:
            bullets.append(Bullet(tuple(cited), levels=tuple(paragraph.evidence_levels)))
            used.add(paragraph.passage_id)
    if not bullets:
        return None
    return BulletGroup(_setting_heading(paragraphs[0].section_path), tuple(bullets), note=note), used


def item_bullet(item: Evidence) -> Bullet:
    """A list item quoted whole (its own text, without the lead-in it carries), with its number and levels."""
    own = item.text[item.lead_end :]
    cited = tuple(
        CitedSentence(span.text, location(item, item.lead_end + span.start, item.lead_end + span.end))
        for span in sentences.split_sentences(own)
    )
    return Bullet(cited, number=item.item_number, depth=item.depth, levels=tuple(item.evidence_levels))


def setting_first(groups: Sequence[BulletGroup], question_text: str) -> list[BulletGroup]:
    """The groups with those matching the setting the question names first (stable otherwise)."""
    wanted_stages = stages(question_text)
    wanted_words = setting_words(question_text)
    if not wanted_stages and not wanted_words:
        return list(groups)

    def matches(group: BulletGroup) -> bool:
        text = " ".join([group.heading, *(s.text for s in group.lead)])
        if wanted_stages and _stages_overlap(wanted_stages, stages(text)):
            return True
        return bool(wanted_words & setting_words(text))

    matching = [group for group in groups if matches(group)]
    rest = [group for group in groups if not matches(group)]
    return matching + rest


def stages(text: str) -> set[str]:
    """The stages a text names ("stage I and II" → {"I", "II"}; "stages IIIB or IV" → {"IIIB", "IV"})."""
    found: set[str] = set()
    for match in _STAGE.finditer(text):
        for token in re.findall(r"0|[IV]{1,4}[A-D]?\d?", match.group(1), re.IGNORECASE):
            found.add(token.upper())
    return found


def _stages_overlap(wanted: set[str], offered: set[str]) -> bool:
    """Stage IV matches IV, IVA and IVB; stage IIIB matches III (a heading for the whole stage) but not IIIA."""
    for stage in wanted:
        for other in offered:
            base, other_base = _ROMAN.match(stage), _ROMAN.match(other)
            if not (base and other_base and base.group(0) == other_base.group(0)):
                continue
            if stage == other or stage == base.group(0) or other == other_base.group(0):
                return True
    return False


def setting_words(text: str) -> set[str]:
    """The setting words of a text, folded to a common stem ("recurrent", "relapsed" → "recurr")."""
    found = set()
    for word in SETTING_WORDS.findall(text):
        folded = word.casefold()
        found.add(next((stem for prefix, stem in _STEM.items() if folded.startswith(prefix)), folded))
    return found


# -- modalities -------------------------------------------------------------------------------------


def modality_sections(
    passages: Sequence[Evidence], drugs: DrugLexicon, note: str | None = None
) -> tuple[str, list[BulletGroup]]:
    """The subsections of the guideline's treatment overview ("Surgery", "Somatostatin Analogues",
    "Systemic Therapy for Advanced and Metastatic Disease"…) and its follow-up sections, each under its
    own heading, in document order: the lists in it that name drugs, quoted whole, and its most
    telling statement (:func:`_statement_score`). Returns the overview's heading and the groups."""
    sections: dict[tuple[str, ...], list[Evidence]] = {}
    overview_heading = ""
    for passage in passages:
        path = passage.section_path
        follow_up = next((i for i, h in enumerate(path) if FOLLOW_UP.search(h)), None)
        if follow_up is not None:
            key = tuple(path[: follow_up + 1])
        elif len(path) >= 2 and OVERVIEW.search(path[0]):
            overview_heading = overview_heading or path[0]
            key = tuple(path[:2])
        else:
            continue
        sections.setdefault(key, []).append(passage)
    groups = []
    for key, members in sections.items():
        bullets = [*_drug_lists(members, drugs), *_best_statement(members, drugs)]
        if bullets:
            groups.append(BulletGroup(key[-1], tuple(bullets), note=note))
    return overview_heading, groups


def _drug_lists(passages: Sequence[Evidence], drugs: DrugLexicon) -> list[Bullet]:
    """Each list whose items name drugs, whole: its lead-in, then its items one level below."""
    bullets: list[Bullet] = []
    for items in lists_of(passages).values():
        lead = lead_in(items[0])
        # A list without a lead-in of its own is a trial's results, not a list of agents.
        # ... and one whose lead-in leans on the sentence before it ("Other regimens include:") is left out.
        if not lead or EVIDENCE_LEAD.match(lead[0].text) or sentences.needs_context(lead[0].text):
            continue
        if not any(drugs.find(item.text[item.lead_end :]) for item in items):
            continue
        bullets.append(Bullet(lead))
        for item in items:
            bullet = item_bullet(item)
            if bullet.sentences:
                bullets.append(replace(bullet, depth=bullet.depth + 1))
    return bullets


def _best_statement(passages: Sequence[Evidence], drugs: DrugLexicon) -> list[Bullet]:
    # Sections open with their point, so only their first paragraphs are read. A paragraph that opens by
    # reporting a study goes on describing it ("Therapy included …"): its
    # sentences would read as advice out of that context.
    paragraphs = [p for p in passages if p.block == "paragraph"][:STATEMENT_PARAGRAPHS]
    paragraphs = [p for p in paragraphs if not _opens_with_study(p)]
    scored = [
        (_statement_score(group, drugs, order), order, group)
        for order, group in enumerate(g for p in paragraphs for g in _standalone_groups(p))
    ]
    if not scored:
        return []
    _score, _order, group = max(scored, key=lambda item: (item[0], -item[1]))
    return [Bullet(group)]


def _opens_with_study(passage: Evidence) -> bool:
    first = passage.sentences[:1]
    return bool(first) and bool(REPORTS_STUDY.search(first[0].text))


def _statement_score(group: Sequence[CitedSentence], drugs: DrugLexicon, order: int) -> float:
    """How well a statement sums up its section: it names a treatment or a drug, says what is standard,
    does not report a single study, is not long, and comes early (sections open with their point)."""
    text = " ".join(sentence.text for sentence in group)
    words = len(text.split())
    named = {mention.name for mention in drugs.find(text)}
    score = min(len(named), 2) + float(bool(GIVING.search(text)))
    score += max((weight for pattern, weight in STANDARD_CUES if pattern.search(text)), default=0.0)
    score -= float(bool(REPORTS_STUDY.search(text))) + 0.5 * (words > BOTTOM_LINE_MAX_WORDS) + 0.1 * order
    return score


# -- agents -----------------------------------------------------------------------------------------


def agents(passages: Sequence[Evidence], drugs: DrugLexicon, named: Sequence[str] = ()) -> list[BulletGroup]:
    """An entry per drug that the passages give a heading of its own or an "Evidence (drug):" block.

    Each entry quotes the guideline's description of the drug (its first sentence under the drug's
    heading, when that says what the drug is) and its evidence: the first trial of its evidence block,
    the first result, and the sentence on its FDA approval. Drugs the question names come first.
    """
    members: dict[str, list[Evidence]] = {}
    names: dict[str, tuple[str, str]] = {}
    # Passages of one section share its heading: each heading is looked up once.
    find = lru_cache(maxsize=None)(drugs.find)
    for passage in passages:
        found = _agent_of(passage, find)
        if found is None:
            continue
        drug, heading = found
        key = drug.casefold()
        names.setdefault(key, (heading, drug))
        members.setdefault(key, []).append(passage)
    wanted = {name.casefold() for name in named}
    keys = sorted(members, key=lambda key: key not in wanted)
    groups = []
    for key in keys[:MAX_AGENTS]:
        group = _agent_group(*names[key], members[key])
        if group is not None:
            groups.append(group)
    return groups


def _agent_of(passage: Evidence, find: Callable[[str], list[DrugMention]]) -> tuple[str, str] | None:
    """The agent a passage is about, as (the drug's generic name, the guideline's words for the entry):
    the drug its nearest heading names, or its evidence block's drug ("Evidence (adding pembrolizumab to
    …):" is an entry on pembrolizumab under the guideline's own words)."""
    lead = EVIDENCE_LEAD.match(_lead_of(passage)) if passage.block == "list_item" else None
    if lead is None and passage.block == "paragraph":
        lead = EVIDENCE_LEAD.match(passage.text)
    if lead is not None:
        mentions = find(lead.group(1))
        if mentions:
            return mentions[0].name, lead.group(1).strip()
    heading = passage.section_path[-1] if passage.section_path else ""
    if len(heading.split()) <= AGENT_HEADING_WORDS:
        mentions = find(heading)
        # "Somatostatin Analogues" heads a class of drugs, not somatostatin.
        if mentions and mentions[0].start <= 1 and not DRUG_CLASS_NOUN.match(heading[mentions[0].end :]):
            return mentions[0].name, heading
    return None


def _agent_group(name: str, drug: str, passages: Sequence[Evidence]) -> BulletGroup | None:
    description: tuple[CitedSentence, ...] = ()
    first_paragraph = next((p for p in passages if p.block == "paragraph" and not EVIDENCE_LEAD.match(p.text)), None)
    if first_paragraph is not None:
        first = quotable_sentences(first_paragraph)[:1]
        if first and re.search(r"\b(?:is|are)\s+(?:an?|the)\b", first[0].text):
            description = (first[0],)
    items = _evidence_items(passages)
    # PDQ evidence blocks number their trials and bullet each trial's results below it.
    trial_item = next((p for p in items if p.item_number is not None), items[0] if items else None)
    # A result that leans on the one before it ("Additionally, …") cannot stand as the trial's result.
    later = items[items.index(trial_item) + 1 :] if trial_item else []
    result_item = next(
        (p for p in later if p.item_number is None and not sentences.needs_context(p.text[p.lead_end :])), None
    )
    trial = item_bullet(trial_item) if trial_item else None
    result = item_bullet(result_item) if result_item else None
    bullets: list[Bullet] = []
    for bullet in (trial, result):
        if bullet is not None and bullet.sentences:
            bullets.append(Bullet(bullet.sentences[:AGENT_BULLETS], levels=bullet.levels))
    approval = _approval_sentence(passages)
    if approval is not None and all(approval.text not in s.text for b in bullets for s in b.sentences):
        bullets.append(Bullet((approval,)))
    if not description and not bullets:
        return None
    return BulletGroup(name[:1].upper() + name[1:], tuple(bullets), lead=description, drug=drug)


def _evidence_items(passages: Sequence[Evidence]) -> list[Evidence]:
    """The items of the evidence lists among ``passages``: lists led by "Evidence (…):", and numbered
    lists with no lead-in of their own (an evidence block a paragraph broke in two). Other lists under
    a drug's heading (its side effects, say) are not evidence about it."""
    items = []
    for block in lists_of(passages).values():
        first = block[0]
        lead = _lead_of(first)
        if EVIDENCE_LEAD.match(lead) or (not lead and first.item_number is not None):
            items.extend(block)
    return items


def _approval_sentence(passages: Sequence[Evidence]) -> CitedSentence | None:
    for passage in passages:
        if not APPROVAL.search(passage.text):
            continue
        start = passage.lead_end if passage.block == "list_item" else 0
        for span in sentences.split_sentences(passage.text[start:]):
            if APPROVAL.search(span.text) and not sentences.needs_context(span.text):
                return CitedSentence(span.text, location(passage, start + span.start, start + span.end))
    return None


# -- bottom line ------------------------------------------------------------------------------------


def bottom_line(
    documents: Sequence[Sequence[Evidence]], question_text: str, matcher: ConceptMatcher, options: Iterable[int] = ()
) -> list[Bullet]:
    """Up to three of the guideline's own statements of what is standard, preferred or first-line.

    Candidates are the on-intent paragraphs and the items of option lists (``options``, passage ids):
    never evidence blocks or sentences reporting a study, which say what was found, not what is done.
    They are scored by how plainly they state a standard (a predicate such as "is the preferred …"
    counts most), by naming the question's concepts and setting, and by coming from the primary
    document; each comes from another passage.
    """
    option_ids = set(options)
    wanted_stages = stages(question_text)
    wanted_words = setting_words(question_text)
    scored: list[tuple[float, int, Bullet]] = []
    position = 0
    for rank, passages in enumerate(documents):
        for passage in passages:
            position += 1
            if passage.block == "table" or (passage.block == "list_item" and passage.passage_id not in option_ids):
                continue
            if not any(pattern.search(passage.text) for pattern, _ in STANDARD_CUES):
                continue
            for group in _standalone_groups(passage):
                text = " ".join(s.text for s in group)
                cue = max((weight for pattern, weight in STANDARD_CUES if pattern.search(text)), default=0.0)
                if not cue or len(text.split()) > BOTTOM_LINE_MAX_WORDS or REPORTS_STUDY.search(text):
                    continue
                context = " ".join([*passage.section_path, text])
                setting = bool(wanted_stages and _stages_overlap(wanted_stages, stages(context))) or bool(
                    wanted_words & setting_words(context)
                )
                score = cue + bool(STANDARD_PREDICATE.search(text)) + 0.5 * matcher.matches(text)
                score += 1.5 * setting - PRIMARY_FIRST * rank - position / 5000
                scored.append((score, passage.passage_id, Bullet(tuple(group))))
    scored.sort(key=lambda item: -item[0])
    chosen: list[Bullet] = []
    used: set[int] = set()
    for _score, passage_id, bullet in scored:
        if passage_id in used or any(sentences.near_duplicate(_text(bullet), _text(b)) for b in chosen):
            continue
        chosen.append(bullet)
        used.add(passage_id)
        if len(chosen) == MAX_BOTTOM_LINE:
            break
    return chosen


def _standalone_groups(passage: Evidence) -> list[tuple[CitedSentence, ...]]:
    start = passage.lead_end if passage.block == "list_item" else 0
    text = passage.text[start:]
    found = []
    spans = passage.sentences if start == 0 else sentences.split_sentences(text)
    for group in sentences.group_standalone(spans, text):
        if sentences.is_clinical_statement(group[0].text):
            found.append(tuple(CitedSentence(s.text, location(passage, start + s.start, start + s.end)) for s in group))
    return found


def quotable_sentences(passage: Evidence) -> list[CitedSentence]:
    """The sentences of a passage that stand alone, in order (a leaning sentence travels with its predecessor)."""
    return [sentence for group in _standalone_groups(passage) for sentence in group]


def location(evidence: Evidence, start: int, end: int) -> SourceLocation:
    """Where the span ``start:end`` of a passage's text is."""
    return SourceLocation(evidence.passage_id, evidence.document_id, evidence.section_path, start, end)


def _text(bullet: Bullet) -> str:
    return " ".join(sentence.text for sentence in bullet.sentences)


def _passage_ids(groups: Iterable[BulletGroup]) -> set[int]:
    return {sentence.source.passage_id for group in groups for sentence in group.sentences}
