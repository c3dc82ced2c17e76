"""Whom a question and a document are about: the species, the age group, pregnancy.

A question about cats is not answered by a guideline for people, an adult's question is not answered
by a summary written for children, and a summary of treatment during pregnancy does not answer a
question that does not mention pregnancy. :func:`question_population` reads the population from the
question's words and MeSH concepts, :func:`document_population` from a guideline's title and id,
:func:`fits` compares the two and :func:`fitting_documents` applies the preferences below. Everything
is read from words and MeSH trees kept at the top of this module; nothing names a disease.

The rules, in order:

1. Species: a question about animals fits only documents about that species (NCI's summaries are
   all about people); a question about people fits no document about animals. Research records are
   judged by their MeSH check tags (Animals, Humans) or, without them, by their titles
   (:func:`research_fits`).
2. Pregnancy: a summary of treatment during pregnancy fits only questions about pregnancy.
3. Age: a summary written for children fits only questions about children, and a document written
   for adults does not fit a question about children.
4. Preference: among the fitting documents, those written for the question's narrower population
   (children, pregnancy) replace the general ones when there are any: a child's treatment is taken
   from the children's summary, not from the adults'. When a question of unspecified age fits
   nothing but children's summaries (a disease of childhood such as Wilms tumour, on which the
   corpus has nothing else), the children's summaries are used: they are the only guidance there is
   and the question did not ask for adults.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from vademecum.vocab.normalise import Word, words

if TYPE_CHECKING:
    from vademecum.answer.understand import Concept

Age = Literal["adult", "child"]
K = TypeVar("K", bound=Hashable)

ANIMALS = "Animals"
"""The MeSH descriptor for animals in general; the species of a question that only says "veterinary"."""
HUMANS_UI = "D006801"
ANIMAL_TREES = ("B01.050.150.900", "B01.050.050")
"""Vertebrates, and domestic animals and pets: the organisms that are patients. Invertebrates and
microorganisms named in a question are what infects the patient, not the patient."""
ANIMAL_HEADING = "B01.050"
ORGANISM_TREES = ("B",)
ANIMAL_DISEASE_TREES = ("C22",)
"""Animal Diseases: a species word inside such a descriptor ("canine distemper") names the patient."""
SOURCE_TREES = ("A", "D", "E")
"""Anatomy, chemicals and drugs, procedures: a species adjective before them names where a product or
a tissue comes from ("porcine insulin", "equine antithymocyte globulin", "canine teeth"), not the patient."""

# Species MeSH names with the adjectives and nouns that name them in running text. The nouns let a
# document title be read without MeSH; in questions any vertebrate MeSH descriptor counts as well.
SPECIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Cats": (("feline",), ("cat", "cats", "kitten", "kittens")),
    "Dogs": (("canine",), ("dog", "dogs", "puppy", "puppies")),
    "Horses": (("equine",), ("horse", "horses", "pony", "ponies", "foal", "foals")),
    "Cattle": (("bovine",), ("cattle", "cow", "cows", "heifer", "heifers")),
    "Swine": (("porcine",), ("pig", "pigs", "swine", "piglet", "piglets")),
    "Sheep": (("ovine",), ("sheep", "ewe", "ewes")),
    "Goats": (("caprine",), ("goat", "goats")),
    "Mice": (("murine",), ("mouse", "mice")),
    "Rats": ((), ("rat", "rats")),
    "Rabbits": ((), ("rabbit", "rabbits")),
    ANIMALS: (("veterinary",), ("animal", "animals", "pet", "pets", "livestock")),
}
_ADJECTIVES = {adjective: name for name, (adjectives, _) in SPECIES.items() for adjective in adjectives}
_NOUNS = {noun: name for name, (_, nouns) in SPECIES.items() for noun in nouns}

# A species noun names the patient only in a patient's place in the sentence: after "in", "for",
# "treating", "my" (skipping a few modifiers: "in client-owned dogs"), and as the head of its phrase
# (followed by the end, punctuation or a function word: "in dogs with lymphoma"); or when followed by
# "with", "who", "diagnosed"... ("Dogs with lymphoma"). "For a dog bite" and "from cats" do not count.
_PATIENT_BEFORE_LIST = (
    "in for among treat treats treating treated manage manages managing affecting affects affect"
    " my our your their his her"
)
_POSSESSIVE_LIST = "my our your their his her"
_SOURCE_BEFORE_LIST = "from by to of against"
_MODIFIER_LIST = (
    "a an the these those some many all young old older aged elderly senior geriatric juvenile adult pet"
    " domestic domesticated client owned companion stray pregnant male female neutered spayed intact"
    " healthy normal sick affected infected obese diabetic"
)
_STRONG_AFTER_LIST = "with who having diagnosed suffering infected affected presenting receiving undergoing"
_HEAD_AFTER_LIST = (
    "that which and or in at on of is are was were has have treated without after before during from by"
    " than versus vs under over older younger aged"
)
_PATIENT_BEFORE = frozenset(_PATIENT_BEFORE_LIST.split())
_POSSESSIVE = frozenset(_POSSESSIVE_LIST.split())
_SOURCE_BEFORE = frozenset(_SOURCE_BEFORE_LIST.split())
_MODIFIERS = frozenset(_MODIFIER_LIST.split())
_STRONG_AFTER = frozenset(_STRONG_AFTER_LIST.split())
_HEAD_AFTER = _STRONG_AFTER | frozenset(_HEAD_AFTER_LIST.split())
_SKIPPED_BEFORE = 3

_CHILD = re.compile(
    r"\b(?:child(?![-\u2010\u2013]\s*(?:pugh|turcotte))|children|childhood|p(?:a)?ediatrics?|infants?|infancy"
    r"|infantile|newborns?|neonates?|neonatal|toddlers?|adolescents?|adolescence|teens?|teenagers?|kids"
    r"|boys|girls|schoolchildren|preschool\w*)\b",
    re.IGNORECASE,
)
"""Words for children ("Child" of the Child-Pugh score is an eponym, not a child)."""
_ADULT = re.compile(r"\b(?:adults?|elderly|geriatric|older (?:adults|people|persons|patients))\b", re.IGNORECASE)
_AGE_IN_YEARS = re.compile(r"\b(\d{1,3})[- ](?:years?|yrs?)[- ]old\b", re.IGNORECASE)
_AGE_IN_MONTHS = re.compile(r"\b\d{1,3}[- ](?:months?|weeks?|days?)[- ]old\b", re.IGNORECASE)
_PREGNANCY = re.compile(r"(?<!non-)(?<!non )\b(?:pregnan\w*|prenatal|antenatal)", re.IGNORECASE)
ADULT_AGE = 18

# A guideline's id names its audience the way NCI writes its paths ("…/child-all-treatment-pdq",
# "…/childhood-cancers/…", "…/pediatric-gastric-…", "…/treatment-during-pregnancy-pdq").
_ID_CHILD = re.compile(r"(?<![a-z])(?:child|childhood|pediatric|paediatric)(?![a-z])")
_ID_ADULT = re.compile(r"(?<![a-z])adult(?![a-z])")
_ID_PREGNANCY = re.compile(r"(?<![a-z])pregnancy(?![a-z])")


@dataclass(frozen=True, slots=True)
class Population:
    """Whom a text is about: ``species`` is a MeSH species name ("Cats"), None for people.

    ``age`` is None when the text says nothing of age (or names both children and adults);
    ``species_terms`` are the words that name the species, for finding it in other texts.
    """

    species: str | None = None
    age: Age | None = None
    pregnancy: bool = False
    species_terms: tuple[str, ...] = field(default=(), compare=False)

    @property
    def human(self) -> bool:
        """Whether the population is people."""
        return self.species is None

    def describe(self) -> str:
        """A short phrase for the reader: "cats", "pregnancy", "children", "adults" or "patients"."""
        if self.species:
            return self.species.lower()
        if self.pregnancy:
            return "pregnancy"
        return {"child": "children", "adult": "adults"}.get(self.age or "", "patients")


def question_population(
    text: str, concepts: Sequence[Concept] = (), trees: Mapping[str, Sequence[str]] | None = None
) -> Population:
    """The population a question asks about, from its words and (when given) its MeSH concepts.

    ``concepts`` are the question's concepts with offsets into ``text`` and ``trees`` their tree
    numbers by descriptor UI, as :func:`vademecum.answer.understand.understand` finds them; they
    let any vertebrate MeSH names ("ferrets", "guinea pigs") count as a species and keep species
    words inside other names ("cat scratch disease", "porcine insulin") from counting.
    """
    species = _species(text, concepts, trees or {})
    return Population(
        species=species[0] if species else None,
        age=_age(text),
        pregnancy=bool(_PREGNANCY.search(text)),
        species_terms=_species_terms(species, text, concepts),
    )


def document_population(title: str, url_or_id: str | None = None) -> Population:
    """The population a guideline document is written for, from its title and its id or URL.

    NCI PDQ writes it in both: "Childhood …" and "Pediatric …" summaries with ids containing
    "child-" or "pediatric", "… Treatment During Pregnancy" summaries. Documents that say nothing
    are for people of any age.
    """
    path = (url_or_id or "").lower()
    age = _age(title)
    if age is None:
        child, adult = bool(_ID_CHILD.search(path)), bool(_ID_ADULT.search(path))
        age = "child" if child and not adult else "adult" if adult and not child else None
    species = _species(title, (), {})
    return Population(
        species=species[0] if species else None,
        age=age,
        pregnancy=bool(_PREGNANCY.search(title) or _ID_PREGNANCY.search(path)),
        species_terms=_species_terms(species, title, ()),
    )


def fits(question: Population, document: Population) -> bool:
    """Whether a document written for ``document`` may answer a question about ``question``.

    Species must agree ("Animals" agrees with any animal); a pregnancy summary needs a pregnancy
    question; a children's summary needs a question about children and an adults' document one
    that is not about children. A children's question fits general documents too: that children's
    summaries win when there are any is :func:`fitting_documents`'s preference.
    """
    if question.human != document.human:
        return False
    if question.species != document.species and ANIMALS not in (question.species, document.species):
        return False
    if document.pregnancy and not question.pregnancy:
        return False
    if document.age == "child":
        return question.age == "child"
    return not (document.age == "adult" and question.age == "child")


def addresses(question: Population, document: Population) -> bool:
    """Whether a fitting document is written for the question's narrower population (children, pregnancy)."""
    return (question.age == "child" and document.age == "child") or (question.pregnancy and document.pregnancy)


def fitting_documents(question: Population, documents: Mapping[K, Population]) -> list[K]:
    """The keys of the documents an article for ``question`` may draw on (the module's rules 1–4)."""
    fitting = [key for key, document in documents.items() if fits(question, document)]
    specific = [key for key in fitting if addresses(question, documents[key])]
    if specific:
        return specific
    if not fitting and question.human and question.age is None:
        return [
            key
            for key, document in documents.items()
            if document.human and document.age == "child" and not (document.pregnancy and not question.pregnancy)
        ]
    return fitting


def research_fits(question: Population, title: str, mesh_headings: Iterable[str]) -> bool:
    """Whether a research record may answer a question about ``question``.

    MEDLINE tags every record with the check tags Humans and Animals: a record tagged Animals and
    not Humans is about animals. For people, such records are left out (and, without MeSH, records
    whose title is about a species); for a species, only records whose headings or title name it.
    """
    headings = list(mesh_headings)
    if question.human:
        if headings:
            return not (ANIMALS in headings and "Humans" not in headings)
        return document_population(title).human
    if question.species == ANIMALS:
        return (ANIMALS in headings and "Humans" not in headings) or not document_population(title).human
    pattern = _terms_pattern(question.species_terms or (question.species or "",))
    return any(pattern.search(text) for text in (title, *headings))


# -- reading ----------------------------------------------------------------------------------------


def _age(text: str) -> Age | None:
    """ "child" or "adult" when the text names one age group only."""
    child = bool(_CHILD.search(text) or _AGE_IN_MONTHS.search(text))
    adult = bool(_ADULT.search(text))
    for match in _AGE_IN_YEARS.finditer(text):
        if int(match.group(1)) < ADULT_AGE:
            child = True
        else:
            adult = True
    if child == adult:
        return None
    return "child" if child else "adult"


@dataclass(frozen=True, slots=True)
class _Mention:
    """Words of the text naming a species: a noun ("dogs", "guinea pigs") or an adjective ("canine")."""

    start: int
    end: int
    species: str
    adjective: bool


def _species(text: str, concepts: Sequence[Concept], trees: Mapping[str, Sequence[str]]) -> list[str]:
    """The species the text is about, in order of first mention (MeSH names)."""
    tokens = words(text)
    found: list[_Mention] = []
    for concept in concepts:
        concept_trees = trees.get(concept.ui or "", ())
        if concept.ui != HUMANS_UI and _is_animal(concept_trees):
            found.append(_Mention(concept.start, concept.end, concept.name, adjective=False))
    for token in tokens:
        if any(m.start <= token.start < m.end for m in found):
            continue
        if token.key in _ADJECTIVES:
            found.append(_Mention(token.start, token.end, _ADJECTIVES[token.key], adjective=True))
        elif token.key in _NOUNS:
            found.append(_Mention(token.start, token.end, _NOUNS[token.key], adjective=False))
    names: list[str] = []
    for mention in sorted(found, key=lambda m: m.start):
        if mention.species in names:
            continue
        if not mention.adjective:
            named = _noun_names_patient(text, tokens, mention, concepts, trees)
        else:  # "veterinary" means animals whatever follows it
            named = mention.species == ANIMALS or _adjective_names_patient(text, tokens, mention, concepts, trees)
        if named:
            names.append(mention.species)
    # A particular species says more than "animals" in general.
    return [name for name in names if name != ANIMALS] or names


def _is_animal(trees: Sequence[str]) -> bool:
    return any(tree.startswith(ANIMAL_TREES) or tree == ANIMAL_HEADING for tree in trees)


def _containing(mention: _Mention, concepts: Sequence[Concept]) -> Concept | None:
    """The concept whose words include the mention and more ("cat scratch disease" for "cat")."""
    return next(
        (
            c
            for c in concepts
            if c.start <= mention.start and mention.end <= c.end and (c.start, c.end) != (mention.start, mention.end)
        ),
        None,
    )


def _adjective_names_patient(
    text: str,
    tokens: list[Word],
    mention: _Mention,
    concepts: Sequence[Concept],
    trees: Mapping[str, Sequence[str]],
) -> bool:
    """ "Canine lymphoma", "feline leukemia virus": yes; "porcine insulin", "murine typhus", "(Bovine and Shark)": no.

    Inside a MeSH name, the adjective names the patient when the name is an organism's or an animal
    disease's. Otherwise it must modify the next word, and that word must not begin a tissue, a
    product or a procedure.
    """
    container = _containing(mention, concepts)
    if container is not None:
        found = trees.get(container.ui or "", ())
        return container.role != "drug" and any(
            tree.startswith(ORGANISM_TREES + ANIMAL_DISEASE_TREES) for tree in found
        )
    following = next((t for t in tokens if t.start >= mention.end), None)
    if following is None or following.key in _HEAD_AFTER:
        return False
    if text[mention.end : following.start].strip(" \t\n-\u2010\u2011"):
        return False  # punctuation: the adjective modifies nothing after it
    concept = next((c for c in concepts if c.start == following.start), None)
    if concept is None:
        return True
    found = trees.get(concept.ui or "", ())
    return concept.role != "drug" and not any(tree.startswith(SOURCE_TREES) for tree in found)


def _noun_names_patient(
    text: str,
    tokens: list[Word],
    mention: _Mention,
    concepts: Sequence[Concept],
    trees: Mapping[str, Sequence[str]],
) -> bool:
    """Whether a species noun stands where the patient does (see the rules above :data:`_PATIENT_BEFORE`)."""
    container = _containing(mention, concepts)
    if container is not None and not any(
        tree.startswith(ORGANISM_TREES + ANIMAL_DISEASE_TREES) for tree in trees.get(container.ui or "", ())
    ):
        return False  # part of another name: "cat scratch disease"
    before = [t for t in tokens if t.end <= mention.start]
    after = [t for t in tokens if t.start >= mention.end]
    previous = None
    for skipped, token in enumerate(reversed(before)):
        modifier = token.key in _MODIFIERS or token.key.isdigit() or token.key.endswith("ly")
        if modifier and skipped < _SKIPPED_BEFORE:
            continue  # "in client-owned dogs", "in 12 clinically normal cats"
        previous = token.key
        break
    following = after[0] if after else None
    gap = text[mention.end : following.start] if following else ""
    if following is not None and following.key in _STRONG_AFTER and previous not in _SOURCE_BEFORE:
        return True
    if previous not in _PATIENT_BEFORE:
        return False
    if following is None:
        return True
    if gap.strip().startswith(("'", "\u2019")):
        return previous in _POSSESSIVE  # "my dog's ear", not "cow's milk"
    if gap.strip(" \t\n-\u2010\u2011"):
        return True  # punctuation ends the phrase: "in cats?", "in dogs, cats"
    return following.key in _HEAD_AFTER


def _species_terms(species: list[str], text: str, concepts: Sequence[Concept]) -> tuple[str, ...]:
    """Words naming the species: the MeSH name, its singular, the words of the table and of the text."""
    terms: list[str] = []
    for name in species:
        adjectives, nouns = SPECIES.get(name, ((), ()))
        terms.extend((name, name[:-1] if name.endswith("s") else name, *adjectives, *nouns))
        terms.extend(c.text for c in concepts if c.name == name)
    return tuple(dict.fromkeys(term.lower() for term in terms if term))


def _terms_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(term) for term in sorted(set(terms), key=len, reverse=True) if term)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
