"""DailyMed SPL documents by set id: ``<base>/services/v2/spls/{setid}.xml`` (the label's current version)."""

from __future__ import annotations

import re

from vademecum.errors import InvalidQueryError
from vademecum.settings import LiveSettings
from vademecum.sources.live.http import HttpClient, RateLimiter, Response

# DailyMed publishes no rate limit; stay at NCBI's anonymous rate, as it is an NLM service too.
REQUESTS_PER_SECOND = 3.0
_SET_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class DailyMed:
    """SPL XML from DailyMed's web services."""

    def __init__(self, client: HttpClient, settings: LiveSettings) -> None:
        self._client = client
        self._base = settings.dailymed_url.rstrip("/")
        self.limiter = RateLimiter(REQUESTS_PER_SECOND)

    def spl(self, set_id: str) -> Response:
        """The SPL XML of a label's current version (cached and revalidated, so unchanged labels cost a 304)."""
        if not _SET_ID.match(set_id):
            raise InvalidQueryError(f"not an SPL set id: {set_id!r}")
        return self._client.get(f"{self._base}/services/v2/spls/{set_id}.xml", limiter=self.limiter, cache=True)
