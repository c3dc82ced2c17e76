"""The passage behind a citation, as an HTML fragment the article page opens in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from vademecum.inputs import MAX_DB_INT
from vademecum.services.passages import passage_detail
from vademecum.web.deps import RuntimeDep, templates
from vademecum.web.params import PassageId

router = APIRouter(tags=["pages"])


@router.get("/passages/{passage_id}", response_class=HTMLResponse)
def passage_fragment(
    request: Request,
    runtime: RuntimeDep,
    passage_id: PassageId,
    start: Annotated[
        int | None, Query(ge=0, le=MAX_DB_INT, description="Start of the quoted sentence in the passage.")
    ] = None,
    end: Annotated[
        int | None, Query(ge=0, le=MAX_DB_INT, description="End of the quoted sentence in the passage.")
    ] = None,
) -> HTMLResponse:
    """Source, section, evidence level, date, link out, and the text with the quoted sentence marked."""
    with runtime.session() as session:
        passage = passage_detail(session, passage_id, start=start, end=end)
    return templates.TemplateResponse(request=request, name="_passage.html", context={"passage": passage})
