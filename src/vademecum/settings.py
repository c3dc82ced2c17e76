"""Settings: one root read from the environment (``VADEMECUM_*``), nested sections per area.

Nested fields are set with a double underscore, e.g. ``VADEMECUM_INGEST__MAX_ARCHIVE_BYTES``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseModel):
    """How source files are read and stored."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(1000, ge=1, description="Records written to the store and index per batch.")
    index_commit_passages: int = Field(
        20_000,
        ge=1,
        description="Passages written to the search index between two commits; a file is never split "
        "between commits (a larger one is committed on its own).",
    )
    max_archive_bytes: int = Field(
        2 * 1024**3,
        ge=1,
        description="Largest uncompressed size accepted from one gzip or zip member; larger is refused as a bomb.",
    )
    max_compression_ratio: int = Field(
        200, ge=1, description="Largest uncompressed/compressed ratio accepted from a zip member."
    )


class IndexSettings(BaseModel):
    """The tantivy passage index. Changing a field that shapes the index gives it a new directory."""

    model_config = ConfigDict(extra="forbid")

    writer_heap_bytes: int = Field(128 * 1024**2, ge=15 * 1024**2, description="tantivy writer memory budget.")
    writer_threads: int = Field(1, ge=1, description="tantivy indexing threads.")
    schema_version: int = Field(1, description="Bumped when the index schema changes; part of the index name.")

    def index_name(self) -> str:
        """Directory name derived from the settings that shape the index (not from tuning knobs)."""
        shape = json.dumps({"schema_version": self.schema_version}, sort_keys=True)
        return "passages-" + hashlib.sha256(shape.encode()).hexdigest()[:12]


class SearchSettings(BaseModel):
    """Passage search."""

    model_config = ConfigDict(extra="forbid")

    default_limit: int = Field(10, ge=1, le=1000, description="Passages returned when no limit is given.")
    max_query_chars: int = Field(2000, ge=1, description="Longest query accepted, in characters.")
    title_boost: float = Field(2.0, ge=0, description="Weight of the document title field.")
    section_boost: float = Field(1.5, ge=0, description="Weight of the section path field.")
    dense: bool = Field(
        False,
        description="Fuse the lexical ranking with dense retrieval (needs `pip install '.[dense]'` and "
        "`vademecum index embed`).",
    )
    dense_rrf_k: int = Field(
        10, ge=1, description="Reciprocal rank fusion constant k of the dense fusion (tuned on BioASQ 7b-9b)."
    )


class WebSettings(BaseModel):
    """The web server."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address the web server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web server listens on.")
    admin_password: SecretStr | None = Field(
        None,
        description="Password of the first admin, created on first start when there is no admin; "
        "unset: a random one is printed once.",
    )
    session_hours: int = Field(12, ge=1, description="How long a sign-in lasts without activity, in hours.")
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Mark cookies Secure: `auto` when the request came over HTTPS (behind a proxy, run uvicorn "
        "with --proxy-headers), `always`, or `never`.",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins allowed for one user name from one client address within the window; "
        "that address then waits, other addresses are not affected.",
    )
    login_max_failures_per_address: int = Field(
        50,
        ge=1,
        description="Failed sign-ins allowed from one client address within the window, whatever the user names.",
    )
    login_user_ceiling: int = Field(
        20,
        ge=1,
        description="Failed sign-ins for one user name from all addresses within the window after which every "
        "further attempt for that name waits a delay that doubles with each failure (1 s, 2 s, 4 s...).",
    )
    login_max_delay_seconds: int = Field(
        60, ge=1, description="Longest delay between two sign-in attempts for a user name over the ceiling."
    )
    login_window_seconds: int = Field(900, ge=1, description="Window over which failed sign-ins are counted.")
    editorial_policy_file: Path | None = Field(
        None, description="Text file whose paragraphs replace the built-in editorial policy page."
    )
    max_json_body_bytes: int = Field(
        64 * 1024,
        ge=1,
        description="Largest request body accepted other than a form (the API's JSON), in bytes; larger gets 413.",
    )
    max_form_body_bytes: int = Field(
        1024**2, ge=1, description="Largest form body accepted (a page's form), in bytes; larger gets 413."
    )
    compose_slots: int = Field(
        1,
        ge=1,
        le=64,
        description="Questions one server worker composes at once (composition is CPU-bound: one per worker "
        "keeps the cores for the workers' reads); answers already stored take no slot.",
    )
    compose_queue: int = Field(
        32,
        ge=0,
        le=1000,
        description="Questions one worker holds waiting for a composition slot; past slots + queue a question "
        "is refused at once with 503 and Retry-After instead of waiting. A client's connection stays with one "
        "worker, so one worker may hold most clients: at 4, 20 clients got 503 for 13% of their asks.",
    )
    composer_niceness: int = Field(
        5,
        ge=0,
        le=19,
        description="Added to the nice value of `vademecum serve`'s composer processes, so that reads and stored "
        "answers get the cores first (0: same priority; 19: only what reads leave).",
    )


class LiveSettings(BaseModel):
    """Opt-in connectors to the public services (E-utilities, openFDA, DailyMed, NLM files); off by default."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False,
        description="Allow `vademecum fetch` and `vademecum update` to use the network (or pass --allow-network).",
    )
    eutils_url: str = Field(
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils", description="Base URL of NCBI E-utilities."
    )
    openfda_url: str = Field("https://api.fda.gov", description="Base URL of the openFDA API.")
    dailymed_url: str = Field("https://dailymed.nlm.nih.gov/dailymed", description="Base URL of DailyMed.")
    pubmed_files_url: str = Field(
        "https://ftp.ncbi.nlm.nih.gov/pubmed",
        description="Base URL of the NLM MEDLINE files (`baseline/` and `updatefiles/` below it).",
    )
    ncbi_tool: str = Field("vademecum", description="`tool` parameter sent to E-utilities.")
    ncbi_email: str | None = Field(None, description="`email` parameter sent to E-utilities (NCBI asks for one).")
    ncbi_api_key: SecretStr | None = Field(
        None, description="NCBI API key: E-utilities allow 10 requests/s with one, 3 without."
    )
    openfda_api_key: SecretStr | None = Field(
        None, description="openFDA API key: raises the daily request quota (240 requests/min either way)."
    )
    timeout_seconds: float = Field(60.0, gt=0, description="Timeout of one HTTP request, in seconds.")
    max_attempts: int = Field(
        5, ge=1, description="Attempts per request before giving up (429, 5xx, truncated body, network error)."
    )
    backoff_seconds: float = Field(
        1.0, ge=0, description="First retry delay; doubled on each further attempt, plus random jitter."
    )
    max_backoff_seconds: float = Field(
        120.0, ge=0, description="Longest wait between attempts, including a server's Retry-After."
    )
    pubmed_batch_size: int = Field(
        500, ge=1, le=10000, description="PubMed records per efetch request (one ingested file each)."
    )


class ClusterSettings(BaseModel):
    """`vademecum ingest --cluster`: ingestion on Dask distributed, one index shard per task."""

    model_config = ConfigDict(extra="forbid")

    scheduler_address: str | None = Field(
        None,
        description="Dask scheduler to send ingest tasks to (e.g. `tcp://10.0.0.5:8786`); unset: a local "
        "cluster bound to 127.0.0.1.",
    )
    n_workers: int = Field(2, ge=1, description="Worker processes of the local cluster (one thread each).")
    files_per_shard: int = Field(
        8, ge=1, description="Source files per index shard; one shard is one task, rebuilt whole on retry."
    )
    task_retries: int = Field(
        2,
        ge=0,
        description="Times Dask re-runs a shard task that raised (a dead worker's task: Dask's `allowed-failures`).",
    )


SynthesisMode = Literal["extractive", "llm"]


class SynthesisSettings(BaseModel):
    """The optional prose summary written by a language model over an article's quoted passages.

    Off by default (``mode = extractive``): nothing leaves the machine. With ``mode = llm`` the article's
    numbered passages are sent to an OpenAI-compatible chat-completions server (vLLM, llama.cpp, Ollama)
    and each sentence it writes is verified against the passages it cites before it is shown.
    """

    model_config = ConfigDict(extra="forbid")

    mode: SynthesisMode = Field(
        "extractive", description="`extractive`: quoted article only; `llm`: add a verified language-model summary."
    )
    base_url: str | None = Field(
        None,
        max_length=2000,
        description="Base URL of the OpenAI-compatible API, e.g. `http://127.0.0.1:8080/v1` "
        "(`/chat/completions` is appended); unset: no summary is written.",
    )
    model: str = Field("local", min_length=1, max_length=200, description="Model name sent in each request.")
    api_key: SecretStr | None = Field(
        None, description="Bearer token for the server, from the environment (`VADEMECUM_SYNTHESIS__API_KEY`)."
    )
    connect_timeout_seconds: float = Field(5.0, gt=0, le=600, description="Timeout to connect to the server.")
    timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="Longest wait for the whole answer of the server, in seconds."
    )
    max_tokens: int = Field(256, ge=16, le=4096, description="Most tokens the model may write.")
    max_response_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest response body read from the server; larger is refused."
    )
    max_passages: int = Field(12, ge=1, le=100, description="Most numbered passages the model is shown.")
    max_passage_chars: int = Field(
        700, ge=80, le=10_000, description="Longest passage text shown to the model (longer is cut at a sentence)."
    )
    min_sentences: int = Field(
        2, ge=1, le=20, description="Fewest verified sentences a summary needs to be shown; fewer: no summary."
    )

    @property
    def endpoint_name(self) -> str | None:
        """The server as recorded in a version: scheme, host, port and path, never credentials or a query."""
        if not self.base_url:
            return None
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


class Settings(BaseSettings):
    """All of Vademecum's settings."""

    model_config = SettingsConfigDict(env_prefix="VADEMECUM_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(Path("var"), description="Data directory: store, index and compiled vocabulary.")
    corpus: Path = Field(Path("../shared/corpus"), description="Demo corpus read by `ingest --demo`.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default is a SQLite file in the data directory."
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingestion.")
    index: IndexSettings = Field(default_factory=IndexSettings, description="Search index.")
    search: SearchSettings = Field(default_factory=SearchSettings, description="Search.")
    web: WebSettings = Field(default_factory=WebSettings, description="Web server.")
    live: LiveSettings = Field(default_factory=LiveSettings, description="Live sources (opt-in network).")
    cluster: ClusterSettings = Field(default_factory=ClusterSettings, description="Cluster ingestion (Dask).")
    synthesis: SynthesisSettings = Field(
        default_factory=SynthesisSettings, description="Optional language-model summary (opt-in network)."
    )

    @property
    def resolved_database_url(self) -> str:
        """The store's URL: the setting, or a SQLite file under ``home``."""
        return self.database_url or f"sqlite:///{(self.home / 'vademecum.sqlite3').resolve()}"

    @property
    def index_dir(self) -> Path:
        """Directory of the passage index (named by the settings that shape it)."""
        return self.home / "index" / self.index.index_name()

    @property
    def vocab_path(self) -> Path:
        """Compiled vocabulary database."""
        return self.home / "vocab.sqlite3"


def get_settings(value: Settings | dict[str, Any] | None = None) -> Settings:
    """Normalise ``None`` (environment), a dict of overrides or a Settings into Settings."""
    if isinstance(value, Settings):
        return value
    return Settings(**(value or {}))
