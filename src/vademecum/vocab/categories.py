"""MeSH categories: where a descriptor sits in the tree, including the category headings themselves.

The corpus tree-number file lists every descriptor's positions except those of the 110 category
headings one level below the root ("Neoplasms" is C04, "Viruses" B04, "Therapeutics" E02): the file
starts each tree at the second level. Questions name these headings often ("cancer" is an entry term
of Neoplasms), so :class:`MeshCategories` supplies their numbers from :data:`CATEGORY_HEADINGS`, the
MeSH category list (a test checks it against the compiled vocabulary: every descriptor without tree
numbers except the check tags Male and Female is listed, and each code heads the descriptors filed
under it).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import ClassVar

from vademecum.vocab.mesh import MeshVocabulary

_HEADINGS_TABLE = """
A01 Body Regions|A02 Musculoskeletal System|A03 Digestive System|A04 Respiratory System|A05 Urogenital System
A06 Endocrine System|A07 Cardiovascular System|A08 Nervous System|A09 Sense Organs|A10 Tissues|A11 Cells
A12 Fluids and Secretions|A13 Animal Structures|A14 Stomatognathic System|A15 Hemic and Immune Systems
A16 Embryonic Structures|A17 Integumentary System|A18 Plant Structures|A19 Fungal Structures
A20 Bacterial Structures|A21 Viral Structures|B01 Eukaryota|B02 Archaea|B03 Bacteria|B04 Viruses
B05 Organism Forms|C01 Infections|C04 Neoplasms|C05 Musculoskeletal Diseases|C06 Digestive System Diseases
C07 Stomatognathic Diseases|C08 Respiratory Tract Diseases|C09 Otorhinolaryngologic Diseases
C10 Nervous System Diseases|C11 Eye Diseases|C12 Urogenital Diseases|C14 Cardiovascular Diseases
C15 Hemic and Lymphatic Diseases|C16 Congenital, Hereditary, and Neonatal Diseases and Abnormalities
C17 Skin and Connective Tissue Diseases|C18 Nutritional and Metabolic Diseases|C19 Endocrine System Diseases
C20 Immune System Diseases|C21 Disorders of Environmental Origin|C22 Animal Diseases
C23 Pathological Conditions, Signs and Symptoms|C24 Occupational Diseases|C25 Chemically-Induced Disorders
C26 Wounds and Injuries|D01 Inorganic Chemicals|D02 Organic Chemicals|D03 Heterocyclic Compounds
D04 Polycyclic Compounds|D05 Macromolecular Substances|D08 Enzymes and Coenzymes|D09 Carbohydrates|D10 Lipids
D12 Amino Acids, Peptides, and Proteins|D13 Nucleic Acids, Nucleotides, and Nucleosides|D20 Complex Mixtures
D23 Biological Factors|D26 Pharmaceutical Preparations|D27 Chemical Actions and Uses|E01 Diagnosis
E02 Therapeutics|E03 Anesthesia and Analgesia|E04 Surgical Procedures, Operative|E05 Investigative Techniques
E07 Equipment and Supplies|F01 Behavior and Behavior Mechanisms|F02 Psychological Phenomena|F03 Mental Disorders
F04 Behavioral Disciplines and Activities|G01 Physical Phenomena|G02 Chemical Phenomena|G03 Metabolism
G04 Cell Physiological Phenomena|G05 Genetic Phenomena|G06 Microbiological Phenomena|G07 Physiological Phenomena
G08 Reproductive and Urinary Physiological Phenomena|G09 Circulatory and Respiratory Physiological Phenomena
G10 Digestive System and Oral Physiological Phenomena|G11 Musculoskeletal and Neural Physiological Phenomena
G12 Immune System Phenomena|G13 Integumentary System Physiological Phenomena|G14 Ocular Physiological Phenomena
G15 Plant Physiological Phenomena|G16 Biological Phenomena|G17 Mathematical Concepts
H01 Natural Science Disciplines|H02 Health Occupations|I02 Education|I03 Human Activities
J01 Technology, Industry, and Agriculture|J02 Food and Beverages|J03 Non-Medical Public and Private Facilities
K01 Humanities|L01 Information Science|M01 Persons|N01 Population Characteristics
N02 Health Care Facilities, Manpower, and Services|N03 Health Care Economics and Organizations
N05 Health Care Quality, Access, and Evaluation|N06 Environment and Public Health|V01 Publication Components
V02 Publication Formats|V03 Study Characteristics|V04 Support of Research|Z01 Geographic Locations
"""

CATEGORY_HEADINGS: dict[str, str] = {
    name: code
    for code, name in (entry.split(" ", 1) for entry in _HEADINGS_TABLE.replace("\n", "|").split("|") if entry)
}
"""Descriptor name → tree number of the MeSH category headings the tree-number file leaves out."""

CATEGORY_CODES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "V", "Z")
"""The top-level MeSH trees (the root letters)."""


class MeshCategories:
    """Tree numbers of descriptors, category headings included; one per vocabulary (see :meth:`of`)."""

    _instances: ClassVar[weakref.WeakKeyDictionary[MeshVocabulary, MeshCategories]] = weakref.WeakKeyDictionary()

    def __init__(self, mesh: MeshVocabulary) -> None:
        self.mesh = mesh
        self._trees: dict[str, tuple[str, ...]] = {}
        self._headings: frozenset[str] | None = None

    @classmethod
    def of(cls, mesh: MeshVocabulary) -> MeshCategories:
        """The (cached) categories of ``mesh``: answers are memoised, so share one per vocabulary."""
        found = cls._instances.get(mesh)
        if found is None:
            found = cls._instances[mesh] = cls(mesh)
        return found

    def tree_numbers(self, ui: str, name: str | None) -> tuple[str, ...]:
        """The descriptor's tree numbers; a category heading's own number when the file has none."""
        found = self._trees.get(ui)
        if found is None:
            found = tuple(self.mesh.tree_numbers(ui))
            if not found and name in CATEGORY_HEADINGS:
                found = (CATEGORY_HEADINGS[name],)
            self._trees[ui] = found
        return found

    def descriptors(self) -> Iterator[tuple[str, str | None, tuple[str, ...]]]:
        """Every descriptor in the tree as (ui, name, tree numbers): about 30,700, in under a second."""
        names: dict[str, str | None] = {}
        # Category codes are a letter and two digits; asking for each possible one finds them all
        # without knowing which exist (an empty range costs one index probe).
        for letter in CATEGORY_CODES:
            for number in range(1, 100):
                for descriptor in self.mesh.descendants_of(f"{letter}{number:02d}"):
                    names.setdefault(descriptor.ui, descriptor.name)
        for name in CATEGORY_HEADINGS:
            for descriptor in self.mesh.lookup(name)[:1]:
                names.setdefault(descriptor.ui, descriptor.name)
        for ui, name in names.items():
            yield ui, name, self.tree_numbers(ui, name)

    def descriptors_using(self, word: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
        """The descriptors :meth:`descriptors` lists that have ``word`` (case-folded) in an entry term."""
        found = []
        for descriptor, trees in self.mesh.descriptors_using_word(word):
            ui, name = descriptor.ui, descriptor.name
            if not any(_under_category(tree) for tree in trees) and ui not in self.heading_uis():
                continue
            found.append((ui, name, trees or ((CATEGORY_HEADINGS[name],) if name in CATEGORY_HEADINGS else ())))
        return found

    def heading_uis(self) -> frozenset[str]:
        """UIs of the category headings as :meth:`descriptors` finds them (the best descriptor of each name)."""
        if self._headings is None:
            self._headings = frozenset(
                descriptor.ui for name in CATEGORY_HEADINGS for descriptor in self.mesh.lookup(name)[:1]
            )
        return self._headings


def _under_category(tree: str) -> bool:
    """Whether :meth:`MeshCategories.descriptors` reaches a tree number: under a code from A01 to Z99."""
    return tree[:1] in CATEGORY_CODES and tree[1:3] != "00"
