"""MeSH classes mapped to treatment modalities: the one table, the same for every disease.

Read by :mod:`vademecum.answer.modality`. Every tree number and descriptor UI here is checked
against the compiled vocabulary by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

SURGERY = "surgery"
LIVER_DIRECTED = "liver_directed"
LOCOREGIONAL = "locoregional"
TRANSPLANTATION = "transplantation"
RADIATION = "radiation"
CHEMORADIATION = "chemoradiation"
RADIONUCLIDE = "radionuclide"
CHEMOTHERAPY = "chemotherapy"
TARGETED = "targeted"
IMMUNOTHERAPY = "immunotherapy"
HORMONE = "hormone"
SUPPORTIVE_CARE = "supportive_care"
OBSERVATION = "observation"

LABELS: dict[str, str] = {
    SURGERY: "Surgery",
    LIVER_DIRECTED: "Liver-directed therapy",
    LOCOREGIONAL: "Ablation and embolization",
    TRANSPLANTATION: "Transplantation",
    RADIATION: "Radiation therapy",
    CHEMORADIATION: "Chemoradiotherapy",
    RADIONUCLIDE: "Radionuclide therapy",
    CHEMOTHERAPY: "Chemotherapy",
    TARGETED: "Targeted therapy",
    IMMUNOTHERAPY: "Immunotherapy",
    HORMONE: "Hormone therapy",
    SUPPORTIVE_CARE: "Supportive care",
    OBSERVATION: "Observation",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A MeSH tree number (and everything below it) that means a modality (``None``: means none).

    ``scope`` says which tree numbers of a descriptor are tested: ``"any"`` its own and those of
    its pharmacological actions; ``"drug"`` its own, if it has pharmacological actions (interferons
    as drugs, not as biomarkers); ``"named"`` its own, only where the text names it as a class of
    treatment ("somatostatin analogues", "GnRH agonists") or a heading names it alone; ``"blocked"``
    its own, only where the text names its blockers ("VEGF inhibitors", "anti-PD-1"), not its
    agonists ("beta-2 adrenergic receptor agonists" are bronchodilators, not targeted therapy).
    ``defer``: a source heading of another drug class takes precedence over this rule.
    """

    tree: str
    key: str | None
    scope: str = "any"
    defer: bool = False


def _rules(key: str | None, *trees: str, scope: str = "any", defer: bool = False) -> tuple[Rule, ...]:
    return tuple(Rule(tree, key, scope, defer) for tree in trees)


# First matching rule wins, so specific classes come before the general ones that contain them.
# Each line names its descriptors; a test checks every number against the vocabulary.
RULES: tuple[Rule, ...] = (
    # Radiopharmaceuticals; Radioisotopes ("radionuclides"); Radioimmunotherapy
    *_rules(RADIONUCLIDE, "D27.505.259.843", "D27.505.519.871", "D27.720.470.410.650", "D01.496.749"),
    *_rules(RADIONUCLIDE, "E02.815.520", "E02.186.750"),
    *_rules(IMMUNOTHERAPY, "D27.505.519.507", "D27.505.954.248.384.500"),  # Immune Checkpoint Inhibitors
    # Protein Kinase (tyrosine kinase, mTOR), MTOR, Angiogenesis, Phosphoinositide-3 Kinase, PARP,
    # Proteasome and Histone Deacetylase Inhibitors
    *_rules(TARGETED, "D27.505.519.389.755", "D27.505.954.248.538", "D27.505.954.248.025"),
    *_rules(TARGETED, "D27.505.696.377.077.099", "D27.505.696.377.450.100", "D27.505.519.389.736"),
    *_rules(TARGETED, "D27.505.519.389.739", "D27.505.954.248.692", "D27.505.519.389.745.705"),
    *_rules(TARGETED, "D27.505.519.389.360"),
    # Antineoplastic Agents, Hormonal; Hormone Antagonists
    *_rules(HORMONE, "D27.505.954.248.169", "D27.505.696.399.450", "D06.347"),
    # Antineoplastic Agents, Immunological: MeSH files every therapeutic monoclonal antibody here,
    # receptor blockers (trastuzumab) as well as immune agents, so a source heading of another drug
    # class ("HER2-Targeted Therapy") takes precedence.
    *_rules(IMMUNOTHERAPY, "D27.505.954.248.384", defer=True),
    # Adjuvants, Immunologic; Immunomodulating Agents; Interferon Inducers
    *_rules(IMMUNOTHERAPY, "D27.505.696.477.067", "D27.505.696.477.396", "D27.505.696.477.828"),
    # Cytokines given as drugs (interferons, interleukin-2), not measured as biomarkers
    *_rules(IMMUNOTHERAPY, "D12.644.276.374", "D12.776.467.374", scope="drug"),
    *_rules(None, "D27.505.954.248.125"),  # Anticarcinogenic Agents: prevention, not treatment
    *_rules(CHEMOTHERAPY, "D27.505.954.248"),  # Antineoplastic Agents: cytotoxic classes and the rest
    *_rules(None, "D27.505.696.477.656"),  # Immunosuppressive Agents
    *_rules(HORMONE, "D06.472", scope="named"),  # Hormones ("somatostatin analogues", "GnRH agonists")
    *_rules(IMMUNOTHERAPY, "D12.776.465", "D23.383", scope="blocked"),  # Immune Checkpoint Proteins
    # Enzymes ("mTOR inhibitors"), proteins and receptors ("VEGF pathway inhibitors"), growth factors
    *_rules(TARGETED, "D08", "D12.776", "D12.644.276.100", scope="blocked"),
    *_rules(CHEMORADIATION, "E02.815.160", "E02.319.164", "E02.186.079"),  # Chemoradiotherapy
    *_rules(RADIATION, "E02.815"),  # Radiotherapy
    *_rules(TARGETED, "E02.319.574"),  # Molecular Targeted Therapy
    *_rules(IMMUNOTHERAPY, "E02.095.465.425"),  # Immunotherapy
    # Antineoplastic Protocols; Chemotherapy, Adjuvant; Consolidation, Induction, Maintenance Chemotherapy
    *_rules(CHEMOTHERAPY, "E02.319.077", "E02.319.170", "E02.186.170", "E02.319.218", "E02.319.499"),
    *_rules(CHEMOTHERAPY, "E02.319.509"),
    # Embolization and Chemoembolization, Therapeutic; Radiofrequency Ablation; Ablation Techniques
    *_rules(LOCOREGIONAL, "E02.520.360", "E02.926.500", "E02.808.750", "E04.014"),
    *_rules(TRANSPLANTATION, "E04.936", "E02.095.147.500"),  # Transplantation; Stem Cell Transplantation
    # Biopsy, and Endoscopy (mostly diagnostic; endoscopic resection is found as "resection")
    *_rules(None, "E04.074", "E04.502"),
    # Surgical Procedures, Operative; Specialties, Surgical ("Surgery" is General Surgery's entry term)
    *_rules(SURGERY, "E04", "H02.403.810"),
    *_rules(SUPPORTIVE_CARE, "E02.760.666", "E02.760.905", "E02.642"),  # Palliative, Terminal Care; Nutrition
    *_rules(OBSERVATION, "N04.761.559.590.900"),  # Watchful Waiting ("active surveillance")
)
# Descriptors the tree file gives no number: the E04 category heading itself. Drug Therapy (E02.319)
# only counts written as "chemotherapy", its entry term.
UI_RULES: dict[str, Rule] = {"D013514": Rule("E04", SURGERY), "D004358": Rule("E02.319", CHEMOTHERAPY)}
DRUG_THERAPY = "D004358"

# Everyday forms MeSH has no entry term for ("resection", "embolization" alone, "hormonal therapy"),
# mapped to the MeSH descriptor they name; classification then goes through RULES like any term.
ALIASES: tuple[tuple[str, str], ...] = (
    (r"surgery|surgical(?:ly)?|resections?|resected|excisions?|excised|operative", "D013514"),
    (r"(?:radio|chemo)?emboli[sz]ations?", "D004621"),
    (r"chemoemboli[sz]ations?", "D016461"),
    (r"chemoradi(?:ation|otherapy)(?: therapy)?", "D059248"),
    (r"chemotherap(?:y|ies)|chemotherapeutics?(?: agents?| drugs?)?", DRUG_THERAPY),
    (r"irradiation|radiotherapy|radiation therapy", "D011878"),
    (r"targeted (?:therap(?:y|ies)|agents?|drugs?)", "D058990"),
    (r"hormon(?:e|al) therap(?:y|ies)|endocrine therap(?:y|ies)|hormonal manipulations?", "D018931"),
    (r"(?:best )?supportive care|symptomatic (?:therap(?:y|ies)|treatments?)|symptom management", "D010166"),
    (r"transplant(?:ation|s)?|HSCT", "D014180"),
)
# Drugs newer than the MeSH descriptors (osimertinib, lanreotide) are placed by their WHO INN stem,
# which names the drug class, mapped to that class's MeSH descriptor. Read only for drugs the
# lexicon found and MeSH does not know.
INN_STEMS: tuple[tuple[str, str], ...] = (
    ("nib", "D047428"),  # -tinib, -rafenib, -metinib: kinase inhibitors
    ("ciclib", "D047428"),
    ("lisib", "D000081082"),
    ("parib", "D000067856"),
    ("zomib", "D061988"),
    ("limus", "D000091203"),
    ("reotide", "D018931"),  # somatostatin analogues
    ("lutamide", "D000726"),  # androgen receptor antagonists
)
