"""BM25 with global statistics: the score one index over every passage would give, computed per shard.

tantivy scores a term match in a field as ``boost * (K1 + 1) * idf * tf / (tf + K1 * (1 - B + B * dl / avgdl))``
with ``idf = ln(1 + (N - n + 0.5) / (n + 0.5))`` (tantivy ``query/bm25.rs``), where N (documents), n (documents
holding the term) and avgdl (tokens of the field / N) are the statistics of the *searcher*, that is of one
index. A shard therefore scores its passages with its own N, n and avgdl, and shard scores cannot be merged.

tantivy-py exposes neither tantivy's ``Bm25StatisticsProvider`` nor term frequencies, but it exposes
``Query.explain``, whose tree carries, for every matching term and field of a passage, the term, tf and the
passage's field length dl (as tantivy stored it, after its one-byte length encoding), and
``Searcher.doc_freq``. :class:`GlobalStatistics` sums N, n and the field token totals over the shards, and
:func:`global_score` re-evaluates an explanation tree with them: the result is the score the single index would
give (within float32 rounding, since tantivy computes in float32). Sums of clauses, boosts and the constant
score of a filter clause (the ``kinds`` filter adds 1.0) are kept as tantivy combined them.

:func:`score_ratio_bound` bounds, for one shard, how much larger a passage's global score can be than its
shard score, which lets the sharded search stop reading deeper into a shard exactly when no unread passage
of that shard can still enter the top results (:mod:`vademecum.search.shards`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from vademecum.search.index import TEXT_FIELDS

# tantivy's BM25 parameters (tantivy query/bm25.rs K1 and B; not configurable from Python).
K1 = 1.2
B = 0.75
# Explanation node descriptions (tantivy query/bm25.rs, boolean_weight.rs, boost_query.rs).
_SUM = "BooleanClause. sum of ..."
_TERM = "TermQuery, product of..."
_BOOST = re.compile(r"^Boost x(?P<boost>[-+0-9.eE]+) of \.\.\.$")
_NO_SCORING = "BooleanQuery with no scoring"
_TERM_CONTEXT = re.compile(r'Term\(field=(?P<field>\d+), type=Str, "(?P<text>(?:[^"\\]|\\.)*)"\)')


class ScoringError(RuntimeError):
    """An explanation the global scorer does not know how to re-evaluate (a query shape it was not built for)."""


def idf(doc_count: int, doc_freq: int) -> float:
    """tantivy's BM25 idf."""
    return math.log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


def field_ids(schema: tantivy.Schema) -> dict[int, str]:
    """Field number → name for the text fields (tantivy names fields by number in explanations)."""
    found: dict[int, str] = {}
    for name in TEXT_FIELDS:
        match = _TERM_CONTEXT.search(str(tantivy.Query.term_query(schema, name, "x")))
        assert match is not None
        found[int(match["field"])] = name
    return found


def query_terms_by_field(query: tantivy.Query, fields: Mapping[int, str]) -> set[tuple[str, str]]:
    """The (field, term) pairs of the text fields a query scores, read from its description."""
    return {
        (fields[int(match["field"])], match["text"])
        for match in _TERM_CONTEXT.finditer(str(query))
        if int(match["field"]) in fields
    }


@dataclass(frozen=True, slots=True)
class ShardStatistics:
    """The BM25 statistics of one index: its document count and each text field's token total."""

    doc_count: int
    field_tokens: dict[str, float]

    def average_length(self, field: str) -> float:
        """avgdl of ``field`` in this index."""
        return self.field_tokens.get(field, 0.0) / self.doc_count if self.doc_count else 0.0


def shard_statistics(index: tantivy.Index, fields: Mapping[int, str]) -> ShardStatistics:
    """Read an index's N and per-field token totals (from tantivy's own avgdl in a probe explanation).

    tantivy-py does not expose the token totals; an explanation of a one-term query on a passage holding
    the term reports ``avgdl`` (float32) and N, and N * avgdl is the total to float32 precision.
    """
    searcher = index.searcher()
    # tantivy's N counts deleted passages until their segment is merged; a probe reports the N it uses.
    doc_count = searcher.num_docs
    tokens: dict[str, float] = {}
    schema = index.schema
    for name in fields.values():
        probe = searcher.terms_with_prefix(name, "", limit=1) if doc_count else []
        if not probe:
            tokens[name] = 0.0
            continue
        term = probe[0][0]
        query = tantivy.Query.term_query(schema, name, term)
        hits = searcher.search(query, 1).hits
        if not hits:  # the term is only in deleted passages
            tokens[name] = 0.0
            continue
        leaf = _first_term_leaf(orjson.loads(query.explain(searcher, hits[0][1]).to_json()))
        details = _details(leaf)
        doc_count = int(details["N, total number of docs"])
        tokens[name] = float(details["avgdl, average length of field"]) * doc_count
    return ShardStatistics(doc_count, tokens)


@dataclass(frozen=True, slots=True)
class GlobalStatistics:
    """BM25 statistics of the union of shards: N and field token totals summed, n looked up per term."""

    doc_count: int
    field_tokens: dict[str, float]
    doc_freqs: dict[tuple[str, str], int]

    @classmethod
    def combine(
        cls,
        shards: Iterable[ShardStatistics],
        terms: Iterable[tuple[str, str]],
        doc_freq: Callable[[str, str], int],
    ) -> GlobalStatistics:
        """Sum the shards' statistics; ``doc_freq(field, term)`` gives n summed over the shards."""
        shards = list(shards)
        tokens: dict[str, float] = {}
        for shard in shards:
            for field, total in shard.field_tokens.items():
                tokens[field] = tokens.get(field, 0.0) + total
        return cls(
            doc_count=sum(shard.doc_count for shard in shards),
            field_tokens=tokens,
            doc_freqs={(field, term): doc_freq(field, term) for field, term in terms},
        )

    def average_length(self, field: str) -> float:
        """avgdl of ``field`` over all shards."""
        return self.field_tokens.get(field, 0.0) / self.doc_count if self.doc_count else 0.0

    def idf(self, field: str, term: str) -> float:
        """Global idf of a term in a field."""
        return idf(self.doc_count, self.doc_freqs[(field, term)])


def global_score(explanation: tantivy.Explanation, stats: GlobalStatistics, fields: Mapping[int, str]) -> float:
    """Re-evaluate a shard's explanation of a passage's score with the global statistics."""
    return _evaluate(orjson.loads(explanation.to_json()), stats, fields)


def score_ratio_bound(
    shard: ShardStatistics,
    stats: GlobalStatistics,
    shard_doc_freq: Callable[[str, str], int],
) -> float:
    """An upper bound of (global score − constant) / (shard score − constant) for any passage of the shard.

    Per term and field the global contribution is the shard's times idf_g / idf_s times
    (tf + K1 (1 − B + B dl / avgdl_s)) / (tf + K1 (1 − B + B dl / avgdl_g)), and that last factor lies
    between 1 and avgdl_g / avgdl_s; a sum of non-negative contributions keeps the largest ratio as bound.
    """
    ratio = 1.0
    for field, term in stats.doc_freqs:
        local_n = shard_doc_freq(field, term)
        if not local_n:
            continue
        term_ratio = stats.idf(field, term) / idf(shard.doc_count, local_n)
        local_avg = shard.average_length(field)
        if local_avg > 0:
            term_ratio *= max(1.0, stats.average_length(field) / local_avg)
        ratio = max(ratio, term_ratio)
    return ratio


def _evaluate(node: dict[str, Any], stats: GlobalStatistics, fields: Mapping[int, str]) -> float:
    description = node["description"]
    if description == _SUM:
        return sum(_evaluate(child, stats, fields) for child in node.get("details", ()))
    if description == _TERM:
        return _term_score(node, stats, fields)
    boost = _BOOST.match(description)
    if boost:
        (child,) = node["details"]
        return float(boost["boost"]) * _evaluate(child, stats, fields)
    if description == _NO_SCORING:
        # A filter clause (the kinds filter): a constant, the same in every index.
        return float(node["value"])
    raise ScoringError(f"cannot re-score explanation node {description!r}")


def _term_score(node: dict[str, Any], stats: GlobalStatistics, fields: Mapping[int, str]) -> float:
    match = _TERM_CONTEXT.search(" ".join(node.get("context", ())))
    if match is None:
        raise ScoringError(f"term query without its term: {node}")
    field, term = fields[int(match["field"])], match["text"]
    details = _details(node)
    tf = float(details["freq, occurrences of term within document"])
    dl = float(details["dl, length of field"])
    norm = K1 * (1.0 - B + B * dl / stats.average_length(field))
    return (K1 + 1.0) * stats.idf(field, term) * tf / (tf + norm)


def _details(term_node: dict[str, Any]) -> dict[str, float]:
    """The named numbers below a TermQuery explanation node (freq, dl, avgdl, n, N)."""
    found: dict[str, float] = {}
    stack = list(term_node.get("details", ()))
    while stack:
        node = stack.pop()
        found[node["description"]] = node["value"]
        stack.extend(node.get("details", ()))
    return found


def _first_term_leaf(node: dict[str, Any]) -> dict[str, Any]:
    if node["description"] == _TERM:
        return node
    for child in node.get("details", ()):
        try:
            return _first_term_leaf(child)
        except ScoringError:
            continue
    raise ScoringError("no term query in the explanation")
