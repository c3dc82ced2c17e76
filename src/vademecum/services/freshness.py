"""Freshness of approved articles: would the evidence ingested since change their sources?

For each approved article not yet flagged, the question is composed again against the current corpus
with the composer that made the article (:func:`vademecum.services.ask.ask`) and its references are
compared with those of the approved version. The article is flagged stale
(:func:`vademecum.articles.versions.mark_stale`, audit action ``vademecum.article.mark_stale``) when

- the new composition cites a document the approved version does not (noting when it is higher-level
  evidence than every document of its kind the version cites), or
- a document the approved version cites has a newer version in the store, or is no longer in it,

counting only documents stored by an ingest run after the one the version was built on
(``corpus.last_ingest_run`` of its article JSON). So a check with no new evidence flags nothing, even
when a newer engine would compose the article differently: that is a reason to regenerate, not news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vademecum.answer.article import Reference
from vademecum.articles.models import Article, ArticleVersion
from vademecum.articles.versions import mark_stale
from vademecum.errors import VademecumError
from vademecum.evidence.grading import EvidenceLevel
from vademecum.evidence.models import EvidenceDocument, SourceFile
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime

REASON_PREFIX = "Newer evidence for this question: "


@dataclass(frozen=True, slots=True)
class StaleArticle:
    """An article this check flagged, and why."""

    article_id: int
    question: str
    reason: str


@dataclass(frozen=True, slots=True)
class FreshnessReport:
    """What a freshness check did: how many approved articles it composed again, which it flagged,
    and those whose question could not be composed again (article id, error)."""

    checked: int
    flagged: tuple[StaleArticle, ...]
    failed: tuple[tuple[int, str], ...] = ()


def check_freshness(runtime: Runtime, *, article_ids: Iterable[int] | None = None) -> FreshnessReport:
    """Compose the question of each approved, not yet stale article again (only ``article_ids`` when
    given) and flag those whose sources the evidence ingested since would change.

    Composing takes seconds per article, so it runs outside any transaction; each flag is written in
    its own, only if the article still has the approved version that was checked.
    """
    with runtime.session() as session:
        statement = select(Article.id, Article.question, Article.approved_version_id).where(
            Article.approved_version_id.is_not(None), Article.stale.is_(False)
        )
        if article_ids is not None:
            statement = statement.where(Article.id.in_(list(article_ids)))
        candidates = session.execute(statement.order_by(Article.id)).all()
    flagged: list[StaleArticle] = []
    failed: list[tuple[int, str]] = []
    for article_id, question, version_id in candidates:
        try:
            # Only the references matter here: no summary is written (it would call the model for nothing).
            composed = ask(runtime, question, "extractive")
        except VademecumError as error:
            failed.append((article_id, str(error)))
            continue
        with runtime.session() as session:
            article = session.get(Article, article_id)
            if article is None or article.approved_version_id != version_id:
                continue  # approved anew meanwhile: the check was about a version readers no longer see
            version = session.get_one(ArticleVersion, version_id)
            reason = stale_reason(session, version, composed.references)
            if reason and mark_stale(session, [article_id], reason):
                flagged.append(StaleArticle(article_id, question, reason))
    return FreshnessReport(checked=len(candidates), flagged=tuple(flagged), failed=tuple(failed))


def stale_reason(session: Session, version: ArticleVersion, references: Sequence[Reference]) -> str | None:
    """Why ``version`` is out of date given the ``references`` its question gets now; None when it is not."""
    cited: dict[str, Mapping[str, Any]] = {
        ref["document_id"]: ref for ref in version.article_json.get("references", [])
    }
    since = version.corpus_last_ingest_run
    stored = _stored(session, [*cited, *(ref.document_id for ref in references)])

    def is_new(document_id: str) -> bool:
        return since is None or (document_id in stored and stored[document_id] > since)

    best_rank: dict[str, int] = {}
    for ref in cited.values():
        rank = EvidenceLevel.from_label(ref["level"]).rank
        best_rank[ref["kind"]] = min(rank, best_rank.get(ref["kind"], rank))
    changes = []
    for ref in references:
        if ref.document_id in cited or not is_new(ref.document_id):
            continue
        higher = EvidenceLevel.from_label(ref.level).rank < best_rank.get(ref.kind.value, 0)
        changes.append(
            f"would now cite {'higher-level evidence ' if higher else ''}{ref.title} ({ref.document_id}, {ref.level})"
        )
    for document_id, ref in cited.items():
        if document_id not in stored:
            changes.append(f"{ref['title']} ({document_id}) is no longer in the corpus")
        elif is_new(document_id):
            changes.append(f"{ref['title']} ({document_id}) has a newer version")
    return REASON_PREFIX + "; ".join(changes) if changes else None


def _stored(session: Session, document_ids: Iterable[str]) -> dict[str, int]:
    """The documents among ``document_ids`` in the store → the first ingest run that stored their current version."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        return {}
    # A document row records the hash of the file it was last written from; the same bytes read again
    # by a newer reader version are the same evidence, so the first run that stored them counts.
    rows = session.execute(
        select(EvidenceDocument.id, func.min(SourceFile.run_id))
        .join(SourceFile, SourceFile.sha256 == EvidenceDocument.source_sha256)
        .where(EvidenceDocument.id.in_(ids))
        .group_by(EvidenceDocument.id)
    )
    return {document_id: run for document_id, run in rows}
