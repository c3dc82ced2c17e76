"""The edit page: an editor rewrites or removes sentences of an article's current version."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from vademecum.articles import policy
from vademecum.articles.edits import EditableSentence, Edits
from vademecum.errors import InvalidQueryError
from vademecum.inputs import MAX_DB_INT
from vademecum.services.articles import EditForm, edit_form, edit_sentences
from vademecum.web.deps import CsrfChecked, CurrentUser, RuntimeDep, role_for, templates
from vademecum.web.params import ArticleId

router = APIRouter(tags=["pages"])

TEXT_PREFIX = "text-"
_DIGITS = re.compile(r"[0-9]{1,19}")
REMOVE_FIELD = "remove"
MAX_COMMENT = 5000


@dataclass(frozen=True)
class EditPageContext:
    """Context of ``edit.html``.

    ``form`` is the current version's sentences in reading order (with their section headings);
    ``texts`` and ``removed`` are what the editor submitted when the page is shown again with ``error``.
    """

    form: EditForm
    error: str | None = None
    texts: dict[int, str] = field(default_factory=dict)
    removed: frozenset[int] = frozenset()
    comment: str = ""

    def text_of(self, sentence: EditableSentence) -> str:
        """The text to show in the sentence's box: the submitted one, else the version's."""
        return self.texts.get(sentence.position, sentence.text)


def form_int(text: str) -> int | None:
    """A form field's whole number, or None for anything else.

    ASCII digits only and within what the store holds: ``str.isdigit`` also accepts "²" (which ``int``
    refuses), and ``int`` refuses strings of more than 4,300 digits, both of which would be a 500.
    """
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_DB_INT else None


async def _form_data(request: Request) -> FormData:
    # The sentence fields are named by position, so the form is read whole rather than field by field.
    return await request.form()


FormDataDep = Annotated[FormData, Depends(_form_data)]


@router.get("/articles/{article_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, runtime: RuntimeDep, user: CurrentUser, article_id: ArticleId) -> Response:
    """Every sentence of the current version in a text box (with a remove box), under its heading."""
    policy.require(user, policy.EDIT)  # readers and reviewers get 403 whatever the article's state
    with runtime.session() as session:
        form = edit_form(session, user, article_id)
    return _page(request, EditPageContext(form=form))


@router.post("/articles/{article_id}/edit", response_class=HTMLResponse, dependencies=[role_for(policy.EDIT)])
def edit_submit(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    _: CsrfChecked,
    article_id: ArticleId,
    data: FormDataDep,
) -> Response:
    """Save the changed sentences as a new version (→ 303 to the article); a bad edit shows the form again."""
    texts = {
        number: value
        for name, value in data.multi_items()
        if name.startswith(TEXT_PREFIX)
        and (number := form_int(name.removeprefix(TEXT_PREFIX))) is not None
        and isinstance(value, str)
    }
    removed = frozenset(
        number for v in data.getlist(REMOVE_FIELD) if isinstance(v, str) and (number := form_int(v)) is not None
    )
    comment = str(data.get("comment") or "")[:MAX_COMMENT].strip()
    revision = data.get("expected_revision")
    changes: Edits = {**texts, **dict.fromkeys(removed)}
    try:
        with runtime.session() as session:
            edit_sentences(
                session,
                user,
                article_id,
                changes,
                comment=comment or None,
                expected_revision=form_int(revision) if isinstance(revision, str) else None,
            )
    except InvalidQueryError as error:
        with runtime.session() as session:
            form = edit_form(session, user, article_id)
        context = EditPageContext(form=form, error=str(error), texts=texts, removed=removed, comment=comment)
        return _page(request, context, status=422)
    return RedirectResponse(f"/articles/{article_id}", status_code=303)


def _page(request: Request, page: EditPageContext, *, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(
        request=request,
        name="edit.html",
        context={"page": page, "text_prefix": TEXT_PREFIX, "remove_field": REMOVE_FIELD},
        status_code=status,
    )
