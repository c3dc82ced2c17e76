"""NCBI E-utilities for PubMed: ``esearch`` (with the Clinical Queries filters and date limits) and ``efetch``.

URLs follow https://www.ncbi.nlm.nih.gov/books/NBK25499/: ``<base>/esearch.fcgi?db=pubmed&term=...
&usehistory=y&retmode=json`` answers ``{"header": ..., "esearchresult": {"count", "retmax", "retstart",
"querykey", "webenv", "idlist", ...}}``; ``<base>/efetch.fcgi?db=pubmed&WebEnv=...&query_key=...&retstart=
&retmax=&retmode=xml`` answers a ``PubmedArticleSet`` in the same XML as the MEDLINE files. Every request
carries ``tool``, ``email`` and, when set, ``api_key``; NCBI allows 3 requests/s per client, 10 with a key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from vademecum.errors import InvalidQueryError
from vademecum.settings import LiveSettings
from vademecum.sources.live.http import FetchError, HttpClient, Params, RateLimiter

# The Clinical Study Categories of PubMed Clinical Queries, as NLM publishes them
# (https://pubmed.ncbi.nlm.nih.gov/help/#clinical-study-categories; Haynes et al., revised 2011).
CLINICAL_QUERY_FILTERS: dict[str, dict[str, str]] = {
    "therapy": {
        "broad": "((clinical[Title/Abstract] AND trial[Title/Abstract]) OR clinical trials as topic[MeSH Terms] "
        "OR clinical trial[Publication Type] OR random*[Title/Abstract] OR random allocation[MeSH Terms] "
        "OR therapeutic use[MeSH Subheading])",
        "narrow": "(randomized controlled trial[Publication Type] OR (randomized[Title/Abstract] "
        "AND controlled[Title/Abstract] AND trial[Title/Abstract]))",
    },
    "diagnosis": {
        "broad": "(sensitiv*[Title/Abstract] OR sensitivity and specificity[MeSH Terms] OR diagnose[Title/Abstract] "
        "OR diagnosed[Title/Abstract] OR diagnoses[Title/Abstract] OR diagnosing[Title/Abstract] "
        "OR diagnosis[Title/Abstract] OR diagnostic[Title/Abstract] OR diagnosis[MeSH:noexp] "
        "OR (diagnostic equipment[MeSH:noexp] OR diagnostic errors[MeSH:noexp] OR diagnostic imaging[MeSH:noexp] "
        "OR diagnostic services[MeSH:noexp]) OR diagnosis, differential[MeSH:noexp] OR diagnosis[Subheading:noexp])",
        "narrow": "(specificity[Title/Abstract])",
    },
    "etiology": {
        "broad": "(risk*[Title/Abstract] OR risk*[MeSH:noexp] OR (risk adjustment[MeSH:noexp] "
        "OR risk assessment[MeSH:noexp] OR risk factors[MeSH:noexp] OR risk management[MeSH:noexp] "
        "OR risk taking[MeSH:noexp]) OR cohort studies[MeSH Terms] OR group[Text Word] OR groups[Text Word] "
        "OR grouped [Text Word])",
        "narrow": "((relative[Title/Abstract] AND risk*[Title/Abstract]) OR (relative risk[Text Word]) "
        "OR risks[Text Word] OR cohort studies[MeSH:noexp] OR (cohort[Title/Abstract] AND study[Title/Abstract]) "
        "OR (cohort[Title/Abstract] AND studies[Title/Abstract]))",
    },
    "prognosis": {
        "broad": "(incidence[MeSH:noexp] OR mortality[MeSH Terms] OR follow up studies[MeSH:noexp] "
        "OR prognos*[Text Word] OR predict*[Text Word] OR course*[Text Word])",
        "narrow": "(prognos*[Title/Abstract] OR (first[Title/Abstract] AND episode[Title/Abstract]) "
        "OR cohort[Title/Abstract])",
    },
}
DATE_TYPES = ("pdat", "edat", "mdat")
# E-utilities return at most 10,000 records of one search through retstart paging.
MAX_RETRIEVABLE = 10_000


def filter_names() -> list[str]:
    """Every ``category/scope`` filter name, e.g. ``therapy/narrow``."""
    return [f"{category}/{scope}" for category, scopes in CLINICAL_QUERY_FILTERS.items() for scope in scopes]


def build_term(query: str, clinical_filter: str | None = None) -> str:
    """The esearch term: the query, ANDed with a Clinical Queries filter (``category/scope``) when given."""
    query = query.strip()
    if not query:
        raise InvalidQueryError("empty PubMed query")
    if clinical_filter is None:
        return query
    category, _, scope = clinical_filter.partition("/")
    try:
        hedge = CLINICAL_QUERY_FILTERS[category][scope or "broad"]
    except KeyError:
        raise InvalidQueryError(
            f"unknown Clinical Queries filter {clinical_filter!r}; one of {', '.join(filter_names())}"
        ) from None
    return f"({query}) AND {hedge}"


@dataclass(frozen=True, slots=True)
class SearchResult:
    """An esearch posted to the History server: how many records match, and where to fetch them."""

    count: int
    webenv: str
    query_key: str
    ids: tuple[str, ...]
    translation: str | None


class EUtils:
    """PubMed through E-utilities, with the credentials and rate limit from settings."""

    def __init__(self, client: HttpClient, settings: LiveSettings) -> None:
        self._client = client
        self._base = settings.eutils_url.rstrip("/")
        self._credentials: dict[str, str] = {"tool": settings.ncbi_tool}
        if settings.ncbi_email:
            self._credentials["email"] = settings.ncbi_email
        if settings.ncbi_api_key:
            self._credentials["api_key"] = settings.ncbi_api_key.get_secret_value()
        self.limiter = RateLimiter(10.0 if settings.ncbi_api_key else 3.0)

    def esearch(
        self,
        term: str,
        *,
        mindate: dt.date | None = None,
        maxdate: dt.date | None = None,
        datetype: str = "pdat",
        retmax: int = 100,
    ) -> SearchResult:
        """Search PubMed and post the result to the History server (``usehistory=y``)."""
        if datetype not in DATE_TYPES:
            raise InvalidQueryError(f"datetype must be one of {', '.join(DATE_TYPES)}")
        params: dict[str, str | int] = {
            "db": "pubmed",
            "term": term,
            "usehistory": "y",
            "retmode": "json",
            "retmax": min(retmax, MAX_RETRIEVABLE),
        }
        if mindate or maxdate:
            # E-utilities require both ends of a date range.
            params.update(
                datetype=datetype,
                mindate=(mindate or dt.date(1800, 1, 1)).strftime("%Y/%m/%d"),
                maxdate=(maxdate or dt.date.today()).strftime("%Y/%m/%d"),
            )
        url = f"{self._base}/esearch.fcgi"
        response = self._client.get(url, self._with_credentials(params), limiter=self.limiter)
        try:
            payload = response.json()
            result = payload["esearchresult"]  # type: ignore[index]
        except (ValueError, KeyError, TypeError) as error:
            raise FetchError(response.url, f"not an esearch JSON envelope ({error})") from error
        if "ERROR" in result or "webenv" not in result:
            raise FetchError(response.url, f"esearch refused the query: {result.get('ERROR') or result}")
        return SearchResult(
            count=int(result["count"]),
            webenv=result["webenv"],
            query_key=str(result["querykey"]),
            ids=tuple(result.get("idlist", [])),
            translation=result.get("querytranslation"),
        )

    def efetch_batches(
        self, search: SearchResult, *, batch_size: int, max_records: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """The MEDLINE XML of the search's records, one ``(retstart, body)`` per batch of ``batch_size``."""
        total = min(search.count, max_records if max_records is not None else search.count, MAX_RETRIEVABLE)
        for start in range(0, total, batch_size):
            params = {
                "db": "pubmed",
                "WebEnv": search.webenv,
                "query_key": search.query_key,
                "retstart": start,
                "retmax": min(batch_size, total - start),
                "retmode": "xml",
            }
            response = self._client.get(
                f"{self._base}/efetch.fcgi", self._with_credentials(params), limiter=self.limiter
            )
            yield start, response.content

    def _with_credentials(self, params: dict[str, str | int]) -> Params:
        return {**params, **self._credentials}
