"""Passage search over the ingested demo corpus."""

from __future__ import annotations

import pytest

from vademecum.errors import InvalidQueryError
from vademecum.services.runtime import Runtime
from vademecum.services.search import search_passages

GI_NET_PDQ = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"


def test_somatostatin_analogue_query_ranks_the_gi_net_summary_first(demo_runtime: Runtime):
    hits = search_passages(demo_runtime, "somatostatin analogue carcinoid syndrome")
    assert hits[0].passage.document_id == GI_NET_PDQ
    assert hits[0].passage.kind == "guideline"


def test_kind_filter(demo_runtime: Runtime):
    hits = search_passages(demo_runtime, "adalimumab rheumatoid arthritis", kinds=["drug_label"], limit=5)
    assert hits
    assert {hit.passage.kind for hit in hits} == {"drug_label"}
    assert "HUMIRA" in hits[0].passage.title.upper()


def test_limit_is_respected(demo_runtime: Runtime):
    assert len(search_passages(demo_runtime, "cancer", limit=3)) == 3


@pytest.mark.parametrize(
    ("query", "kinds", "limit", "message"),
    [
        ("", (), None, "empty"),
        ("  ?! ", (), None, "empty"),
        ("x" * 2001, (), None, "limit"),
        ("cancer", ("guidelines",), None, "unknown kind"),
        ("cancer", (), 0, "between 1 and 1000"),
    ],
)
def test_bad_queries_are_refused(demo_runtime: Runtime, query, kinds, limit, message):
    with pytest.raises(InvalidQueryError, match=message):
        search_passages(demo_runtime, query, kinds=kinds, limit=limit)


def test_ten_megabyte_query_is_refused_quickly(demo_runtime: Runtime):
    with pytest.raises(InvalidQueryError, match="10,485,760 characters"):
        search_passages(demo_runtime, "a" * 10 * 1024 * 1024)
