"""The rendered ``<article>`` of stored versions, kept in the serving process.

Rendering a version's article to HTML was a fifth of a serving worker's time under load, for output that
only changes when the version's review state does: a stored version's article is never rewritten (an edit
or a regeneration makes a new version). Each app keeps its own bounded cache, keyed by the version and its
review header, so a page never shows another store's article or an out-of-date review state.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from markupsafe import Markup

from vademecum.answer.render import ReviewStatus, to_html_fragment
from vademecum.articles.edits import load_article
from vademecum.services.catalogue import ArticleView

# About 25 kB a body on the demo corpus (the largest near 200 kB): a few MB per worker.
DEFAULT_SIZE = 256

_Key = tuple[int, dt.datetime, ReviewStatus]


class RenderedArticles:
    """Least-recently-used cache of article bodies; safe to share between the worker's threads."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._bodies: OrderedDict[_Key, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def body(self, view: ArticleView, status: ReviewStatus) -> Markup:
        """The ``<article>`` of the shown version with ``status`` as its header, rendered at most once."""
        # The creation time guards against a version id reused by a store restored under a running server.
        key = (view.version_id, view.created_at, status)
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
                return body
        body = Markup(to_html_fragment(load_article(view.article_json), status))
        with self._lock:
            self._bodies[key] = body
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
        return body
