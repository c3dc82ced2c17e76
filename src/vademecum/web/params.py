"""Path and query integers shared by the pages and the API, each bounded to what the store can hold.

An id past a signed 64-bit integer cannot name a row, and handing it to the database raises
OverflowError (a 500) instead of "not found": every integer a client sends is range-checked here, so it
is refused before any query runs (422 in the API, the 404 page for a page's path).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from vademecum.inputs import MAX_DB_INT

ArticleId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="The article's id.")]
VersionNumber = Annotated[
    int, Path(ge=1, le=MAX_DB_INT, description="The version's number within the article (1, 2, ...).")
]
PassageId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="The passage's id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="The token's id.")]
VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_DB_INT, description="A version number; default: the one readers see.")
]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="How many matches to skip.")]
