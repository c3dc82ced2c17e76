"""The concept matcher's prefix-factored pattern finds exactly what a plain alternation of its terms finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from vademecum.answer.retrieve import ConceptMatcher

# A small alphabet makes shared prefixes, nested terms and near misses common.
WORDS = st.text(alphabet="abn -", min_size=3, max_size=8).filter(lambda w: len(w.strip()) >= 3)


def plain(terms: list[str]) -> re.Pattern[str]:
    words = sorted({t.strip() for t in terms}, key=len, reverse=True)
    alternation = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w)(?<!non-)(?<!non )(?:{alternation})(?!\w)", re.IGNORECASE)


@settings(max_examples=300, deadline=None)
@given(terms=st.lists(WORDS, min_size=1, max_size=12), text=st.text(alphabet="abnoAB -.", max_size=40))
def test_factored_pattern_matches_like_the_plain_alternation(terms: list[str], text: str):
    (pattern,) = ConceptMatcher.from_groups([terms]).patterns
    assert bool(pattern.search(text)) == bool(plain(terms).search(text))
    assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain(terms).finditer(text)]


def test_the_longest_term_at_a_position_matches_and_case_is_ignored():
    (pattern,) = ConceptMatcher.from_groups([["lung", "lung cancer", "NSCLC", "non-small cell lung cancer"]]).patterns
    assert [m.group(0) for m in pattern.finditer("Lung Cancer and nsclc")] == ["Lung Cancer", "nsclc"]
    # "non-" names the complement, and a term inside a longer word is no mention.
    assert pattern.search("non-lung") is None and pattern.search("lungs") is None
