"""Shared pieces of the drug label readers (SPL XML and openFDA JSON).

Both readers map a label onto the same model: sections identified by LOINC code, numbered
the way the label numbers them ("1.2 Juvenile Idiopathic Arthritis"), with tables flattened to
rows of ``cell | cell``. This module holds the code table both readers need and the text
helpers that must behave identically in both, so an SPL label and its openFDA copy produce
comparable passages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from lxml import etree

from vademecum.records import DocumentKind, Passage, Section, SourceDocument

UNCLASSIFIED_CODE = "42229-5"
"""LOINC "SPL unclassified section": a section with no meaning of its own (subsections, notes)."""

PRODUCT_DATA_ELEMENTS_CODE = "48780-1"
INDEXING_DATA_ELEMENTS_CODE = "48779-3"
PRINCIPAL_DISPLAY_PANEL_CODE = "51945-4"

NON_TEXT_CODES = frozenset({PRODUCT_DATA_ELEMENTS_CODE, INDEXING_DATA_ELEMENTS_CODE, PRINCIPAL_DISPLAY_PANEL_CODE})
"""Sections that list products and packages rather than say anything clinical.

The product data elements are already read into brand and generic names; the package label
panels repeat the carton text (NDC, strength, count) once per package — 18 times in the
Lipitor label — and would only add brand-heavy noise to retrieval.
"""

# openFDA field name, LOINC section code, openFDA section name.
# Built once from openFDA's own table (openfda/spl/data/sections.csv, the corpus file
# labels/spl-section-codes.csv) with the naming rule of openfda/spl/spl_to_json.js
# (":" dropped, " & " -> " and ", the first "/" -> " or ", spaces -> "_", lowercase,
# "spl_unclassified" -> "spl_unclassified_section"); "cleaning" and "route" follow the
# published druglabel schema, which shortens those two names.
SECTION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("abuse", "34086-9", "Abuse"),
    ("accessories", "60555-0", "Accessories"),
    ("active_ingredient", "55106-9", "Active Ingredient"),
    ("adverse_reactions", "34084-4", "Adverse Reactions"),
    ("alarms", "69761-5", "Alarms"),
    ("animal_pharmacology_and_or_toxicology", "34091-9", "Animal Pharmacology & or Toxicology"),
    ("ask_doctor", "50569-3", "Ask Doctor"),
    ("ask_doctor_or_pharmacist", "50568-5", "Ask Doctor/Pharmacist"),
    ("assembly_or_installation_instructions", "60556-8", "Assembly or Installation Instructions"),
    ("boxed_warning", "34066-1", "Boxed Warning"),
    ("calibration_instructions", "60557-6", "Calibration Instructions"),
    (
        "carcinogenesis_and_mutagenesis_and_impairment_of_fertility",
        "34083-6",
        "Carcinogenesis & Mutagenesis & Impairment of Fertility",
    ),
    ("cellular_therapy", "60684-8", "Cellular Therapy"),
    ("cleaning", "60558-4", "Cleaning, Disinfecting, and Sterilization Instructions"),
    ("clinical_pharmacology", "34090-1", "Clinical Pharmacology"),
    ("clinical_studies", "34092-7", "Clinical Studies"),
    ("compatible_accessories", "69760-7", "Compatible Accessories"),
    ("components", "60559-2", "Components"),
    ("contraindications", "34070-3", "Contraindications"),
    ("controlled_substance", "34085-1", "Controlled Substance"),
    ("dependence", "34087-7", "Dependence"),
    ("description", "34089-3", "Description"),
    ("diagram_of_device", "69758-1", "Diagram of Device"),
    ("disposal_and_waste_handling", "69763-1", "Disposal and Waste Handling"),
    ("do_not_use", "50570-1", "Do Not Use"),
    ("dosage_and_administration", "34068-7", "Dosage & Administration"),
    ("dosage_forms_and_strengths", "43678-2", "Dosage Forms & Strengths"),
    ("drug_abuse_and_dependence", "42227-9", "Drug Abuse and Dependence"),
    ("drug_and_or_laboratory_test_interactions", "34074-5", "Drug & or Laboratory Test Interactions"),
    ("drug_interactions", "34073-7", "Drug Interactions"),
    ("environmental_warning", "50742-6", "Environmental Warning"),
    ("food_safety_warning", "50743-4", "Food Safety Warning"),
    ("general_precautions", "34072-9", "General Precautions"),
    ("geriatric_use", "34082-8", "Geriatric Use"),
    ("guaranteed_analysis_of_feed", "50740-0", "Guaranteed Analysis of Feed"),
    ("health_care_provider_letter", "71744-7", "Health Care Provider Letter"),
    ("health_claim", "69719-3", "Health Claim"),
    ("how_supplied", "34069-5", "How Supplied"),
    ("inactive_ingredient", "51727-6", "Inactive Ingredient"),
    ("indications_and_usage", "34067-9", "Indications & Usage"),
    ("information_for_owners_or_caregivers", "50744-2", "Information for Owners/Caregivers"),
    ("information_for_patients", "34076-0", "Information for Patients"),
    ("instructions_for_use", "59845-8", "Instructions for Use"),
    ("intended_use_of_the_device", "60560-0", "Intended Use of the Device"),
    ("keep_out_of_reach_of_children", "50565-1", "Keep Out of Reach of Children"),
    ("labor_and_delivery", "34079-4", "Labor & Delivery"),
    ("laboratory_tests", "34075-2", "Laboratory Tests"),
    ("mechanism_of_action", "43679-0", "Mechanism of Action"),
    ("microbiology", "49489-8", "Microbiology"),
    ("nonclinical_toxicology", "43680-8", "Nonclinical Toxicology"),
    ("nonteratogenic_effects", "34078-6", "Nonteratogenic Effects"),
    ("nursing_mothers", "34080-2", "Nursing Mothers"),
    ("other_safety_information", "60561-8", "Other Safety Information"),
    ("overdosage", "34088-5", "Overdosage"),
    ("package_label_principal_display_panel", "51945-4", "Package Label: Principal Display Panel"),
    ("patient_medication_information", "68498-5", "Patient Medication Information"),
    ("pediatric_use", "34081-0", "Pediatric Use"),
    ("pharmacodynamics", "43681-6", "Pharmacodynamics"),
    ("pharmacogenomics", "66106-6", "Pharmacogenomics"),
    ("pharmacokinetics", "43682-4", "Pharmacokinetics"),
    ("precautions", "42232-9", "Precautions"),
    ("pregnancy", "42228-7", "Pregnancy"),
    ("pregnancy_or_breast_feeding", "53414-9", "Pregnancy or Breast Feeding"),
    ("purpose", "55105-1", "Purpose"),
    ("questions", "53413-1", "Questions"),
    ("recent_major_changes", "43683-2", "Recent Major Changes"),
    ("references", "34093-5", "References"),
    ("residue_warning", "53412-3", "Residue Warning"),
    ("risks", "69759-9", "Risks"),
    ("route", "60562-6", "Route, Method and Frequency of Administration"),
    ("safe_handling_warning", "50741-8", "Safe Handling Warning"),
    ("spl_indexing_data_elements", "48779-3", "SPL Indexing Data Elements"),
    ("spl_medguide", "42231-1", "SPL Medguide"),
    ("spl_patient_package_insert", "42230-3", "SPL Patient Package Insert"),
    ("spl_product_data_elements", "48780-1", "SPL Product Data Elements"),
    ("spl_unclassified_section", "42229-5", "SPL Unclassified"),
    ("statement_of_identity", "69718-5", "Statement of Identity"),
    ("stop_use", "50566-9", "Stop Use"),
    ("storage_and_handling", "44425-7", "Storage and Handling"),
    ("summary_of_safety_and_effectiveness", "60563-4", "Summary of Safety and Effectiveness"),
    ("teratogenic_effects", "34077-8", "Teratogenic Effects"),
    ("troubleshooting", "69762-3", "Troubleshooting"),
    ("use_in_specific_populations", "43684-0", "Use in Specific Populations"),
    ("user_safety_warnings", "54433-8", "User Safety Warnings"),
    ("veterinary_indications", "50745-9", "Veterinary Indications"),
    ("warnings", "34071-1", "Warnings"),
    ("warnings_and_cautions", "43685-7", "Warnings and Cautions"),
    ("when_using", "50567-7", "When Using"),
)

FIELD_CODES: dict[str, str] = {field: code for field, code, _ in SECTION_FIELDS}
"""openFDA field name -> LOINC section code."""

CODE_FIELDS: dict[str, str] = {code: field for field, code, _ in SECTION_FIELDS}
"""LOINC section code -> openFDA field name."""

CODE_NAMES: dict[str, str] = {code: name for _, code, name in SECTION_FIELDS}
"""LOINC section code -> section name as openFDA writes it."""

_HEADING = re.compile(r"(\d{1,2}(?:\.\d{1,2})*)\.?\s+(?=[A-Z])(.*)", re.DOTALL)
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"“])")
_KEEP_UPPER = frozenset({"SPL", "OTC", "CNS", "DNA", "HIV"})
_MINOR_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to"})


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (including no-break spaces) to one space and trim."""
    return _SPACE.sub(" ", text.replace("\u00a0", " ")).strip()


def parse_section_heading(heading: str) -> tuple[str | None, str]:
    """Split a label heading into its number and title.

    >>> parse_section_heading("1.2 Juvenile Idiopathic Arthritis")
    ('1.2', 'Juvenile Idiopathic Arthritis')
    >>> parse_section_heading("WARNINGS")
    (None, 'WARNINGS')

    A number is only taken when a capitalised title follows it, so a heading such as
    "10 mg tablets" keeps its text.
    """
    heading = normalise_space(heading)
    match = _HEADING.fullmatch(heading)
    if match is None:
        return None, heading
    return match.group(1), match.group(2).strip()


def title_from_code_name(name: str) -> str:
    """Title-case a LOINC display name for a section that has no title of its own.

    >>> title_from_code_name("BOXED WARNING SECTION")
    'Boxed Warning'
    >>> title_from_code_name("OTC - KEEP OUT OF REACH OF CHILDREN SECTION")
    'OTC - Keep Out of Reach of Children'
    """
    name = re.sub(r"\s+section$", "", normalise_space(name), flags=re.IGNORECASE)
    words = []
    for index, word in enumerate(name.replace(".", ": ").split()):
        if word.upper() in _KEEP_UPPER:
            words.append(word.upper())
        elif index and word.lower() in _MINOR_WORDS:
            words.append(word.lower())
        else:
            words.append(word[:1].upper() + word[1:].lower())
    return " ".join(words)


def fallback_title(brands: Iterable[str], generics: Iterable[str], set_id: str) -> str:
    """A title for a label that has none: "BRAND (generic) label", or "Drug label <set id>"."""
    brand = next(iter(brands), None)
    generic = next(iter(generics), None)
    if brand and generic and brand.casefold() != generic.casefold():
        return f"{brand} ({generic}) label"
    if brand or generic:
        return f"{brand or generic} label"
    return f"Drug label {set_id}"


# Fixed wording of the FDA prescribing-information template (21 CFR 201.57) and the OTC "Drug Facts"
# panel heading (21 CFR 201.66): regulatory boilerplate around the product line, not a title.
_HIGHLIGHTS_DISCLAIMER = re.compile(
    r"These highlights do not include all the information needed to use .*? safely and effectively\.\s*"
    r"(?:See full prescribing information for [^.]*\.)?",
    re.IGNORECASE,
)
_INITIAL_APPROVAL = re.compile(r"Initial U\.?S\.? Approval:?\s*(\d{4})", re.IGNORECASE)
_PANEL_HEADINGS = frozenset({"drug facts"})


def display_title(
    raw_title: str, brands: Iterable[str], generics: Iterable[str], set_id: str
) -> tuple[str, str | None]:
    """The label's product line as its title, and the year of initial U.S. approval if printed.

    "These highlights do not include … HUMIRA (adalimumab) injection … Initial U.S. Approval: 2002"
    gives ("HUMIRA (adalimumab) injection …", "2002"); an empty or panel-heading title falls back to
    the product names.
    """
    approval = _INITIAL_APPROVAL.search(raw_title)
    title = _INITIAL_APPROVAL.sub("", _HIGHLIGHTS_DISCLAIMER.sub("", raw_title))
    title = normalise_space(title).strip(" .")
    if not title or title.casefold() in _PANEL_HEADINGS:
        title = fallback_title(brands, generics, set_id)
    return title, approval.group(1) if approval else None


DAILYMED_URL = "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"


def label_document(
    *,
    set_id: str,
    title: str,
    reader: str,
    locator: str,
    passages: tuple[Passage, ...],
    sections: tuple[Section, ...],
    version: str | None,
    date: dt.date | None,
    brands: tuple[str, ...],
    generics: tuple[str, ...],
    manufacturer: str | None,
    extra: dict[str, str],
) -> SourceDocument:
    """The one label record both label formats produce, so an SPL and an openFDA copy are versions of one document."""
    return SourceDocument(
        doc_id=f"spl:{set_id}",
        kind=DocumentKind.DRUG_LABEL,
        title=title,
        reader=reader,
        locator=locator,
        passages=passages,
        version=version,
        date=date,
        year=date.year if date else None,
        issuer=manufacturer,
        url=DAILYMED_URL.format(set_id=set_id),
        sections=sections,
        brand_names=brands,
        generic_names=generics,
        manufacturer=manufacturer,
        extra=extra,
    )


def dedupe(names: Iterable[str]) -> tuple[str, ...]:
    """Whitespace-normalised names without blanks or case-insensitive repeats, first spelling kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        name = normalise_space(name)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return tuple(kept)


def join_lead_in(lead: str | None, text: str) -> str:
    """Prepend a list's lead-in to one of its items: "Lead-in: item text"."""
    if not lead:
        return text
    if lead[-1] in ":.;?!":
        return f"{lead} {text}"
    return f"{lead}: {text}"


def sentences(text: str) -> list[str]:
    """Split text at full stops followed by a capitalised word (good enough for chunk boundaries)."""
    return [part for part in _SENTENCE_END.split(text) if part]


def split_last_sentence(text: str) -> tuple[str, str]:
    """Split a paragraph into everything before its last sentence and that sentence."""
    parts = sentences(text)
    return " ".join(parts[:-1]), parts[-1] if parts else ""


def local_name(element: etree._Element) -> str:
    """The lowercase tag name without namespace (SPL is namespaced, openFDA's HTML is not)."""
    return etree.QName(element).localname.lower()


def inline_text(element: etree._Element) -> tuple[str, list[str]]:
    """The running text inside ``element`` and the footnotes found in it, each whitespace-normalised.

    Line breaks become spaces; images and footnote markers are dropped; footnote bodies are
    taken out of the text (they are printed under the table or paragraph, not inline).
    """
    parts: list[str] = []
    notes: list[str] = []
    _collect_contents(element, parts, notes)
    return normalise_space("".join(parts)), notes


def _collect_contents(element: etree._Element, parts: list[str], notes: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        collect_inline(child, parts, notes)


_SKIPPED_INLINE = frozenset({"rendermultimedia", "footnoteref", "img"})
_CELL_BLOCKS = frozenset({"paragraph", "p", "item", "li", "caption", "tr", "td", "th", "list", "ul", "ol", "table"})


def collect_inline(child: etree._Element, parts: list[str], notes: list[str]) -> None:
    """Append one child element's text and its tail to ``parts``; its footnotes go to ``notes``."""
    if isinstance(child.tag, str):
        tag = local_name(child)
        if tag == "br":
            parts.append(" ")
        elif tag == "footnote":
            note, _ = inline_text(child)
            if note:
                notes.append(note)
        elif tag not in _SKIPPED_INLINE:
            # Block elements only reach here inside table cells; keep their words apart.
            spaced = tag in _CELL_BLOCKS
            if spaced:
                parts.append(" ")
            _collect_contents(child, parts, notes)
            if spaced:
                parts.append(" ")
    if child.tail:
        parts.append(child.tail)


def flatten_table(table: etree._Element) -> str:
    """Render a table as readable text: caption first, one line per row as "cell | cell", then footnotes.

    Works on SPL tables and on the HTML tables of openFDA's ``*_table`` fields. Empty cells
    are left out so that layout-only cells do not leave runs of separators.
    """
    lines: list[str] = []
    notes: list[str] = []
    for caption in (child for child in table if isinstance(child.tag, str) and local_name(child) == "caption"):
        text, caption_notes = inline_text(caption)
        notes.extend(caption_notes)
        if text:
            lines.append(text)
    for row in table.iter():
        if not isinstance(row.tag, str) or local_name(row) != "tr":
            continue
        cells = []
        for cell in row:
            if isinstance(cell.tag, str) and local_name(cell) in ("td", "th"):
                text, cell_notes = inline_text(cell)
                notes.extend(cell_notes)
                if text:
                    cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    lines.extend(dedupe(notes))
    return "\n".join(lines)
