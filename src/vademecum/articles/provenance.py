"""Who a version's text comes from: the people whose edits since the last approval it still carries.

Four eyes on every approval means more than "not the version's own author": an edit survives the
versions after it. If an admin rewrites a sentence (version 2), a reviewer sends it back, and an editor
changes another sentence (version 3), version 3 still says what the admin wrote, so the admin must not
take or approve it. Sentence-level provenance is read from the versions themselves: each version is
compared with the one before it, and a sentence is identified by the evidence it cites and its text.

For every edited version since the article's last approval (or since version 1 when it was never
approved), its editor counts as an author of version ``V`` when ``V`` still holds a sentence that edit
introduced (rewritten or new), or still lacks a sentence that edit removed (a sentence that edit rewrote
is not removed: once a later edit rewrites the rewrite, nothing of the first editor's is left). Whoever
generated or edited ``V`` itself counts too. A regeneration composes its text from the corpus, not from
the person who asked for it, so it makes nobody an author of later versions; the regenerated version
itself still counts as its requester's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vademecum.answer.verify import article_sentences
from vademecum.articles.edits import load_article
from vademecum.articles.models import EDITED, ArticleVersion

# (evidence key, text): the same words citing the same passage are the same sentence.
Sentence = tuple[str, str]


def sentences_of(article_json: Mapping[str, Any]) -> frozenset[Sentence]:
    """The sentences of an article JSON, as (evidence key, text)."""
    return frozenset((sentence.source.key, sentence.text) for sentence in article_sentences(load_article(article_json)))


def authored_by(version: ArticleVersion, user_id: int) -> ArticleVersion | None:
    """Whether ``version`` carries text of user ``user_id``: the version that brought it (``version``
    itself when they generated or edited it), or None.

    Only the user's own edits since the last approval are compared, latest first, so asking about someone
    who edited nothing costs no parsing.
    """
    if version.created_by == user_id:
        return version
    article = version.article
    if article is None:
        return None
    approved = article.approved_version
    since = approved.number if approved is not None and approved.number < version.number else 0
    by_number = {candidate.number: candidate for candidate in article.versions}
    target: frozenset[Sentence] | None = None
    for number in range(version.number - 1, since, -1):
        edited = by_number.get(number)
        previous = by_number.get(number - 1)
        if edited is None or previous is None or edited.source != EDITED or edited.created_by != user_id:
            continue
        after, before = sentences_of(edited.article_json), sentences_of(previous.article_json)
        introduced = after - before
        # A rewritten sentence keeps the evidence it cites, so a sentence gone without a new one citing
        # the same evidence was removed rather than rewritten.
        rewritten_keys = {key for key, _ in introduced}
        removed = {(key, text) for key, text in before - after if key not in rewritten_keys}
        if target is None:
            target = sentences_of(version.article_json)
        if introduced & target or removed - target:
            return edited
    return None
