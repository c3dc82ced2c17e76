"""``vademecum ingest --cluster``: shard files over Dask workers, each writing an index shard and a store batch.

Files are grouped in order into shards of ``cluster.files_per_shard`` (PubMed baseline files are about
30,000 records each); each shard is one Dask task (:func:`vademecum.cluster.tasks.build_shard`). With no
scheduler address a :class:`distributed.LocalCluster` of ``cluster.n_workers`` processes runs on this machine,
every listener bound to 127.0.0.1. With an address, the workers must see the same data directory (a shared
file system) and the same PostgreSQL server.

PostgreSQL is required: the workers write concurrently, which SQLite does not allow.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from distributed import Client, LocalCluster, as_completed

from vademecum.cluster.tasks import ShardResult, build_shard
from vademecum.errors import VademecumError
from vademecum.search.shards import TEMP_PREFIX, ShardedIndex, shards_root
from vademecum.services.ingest import (
    IngestObserver,
    IngestProblem,
    IngestReport,
    ending_run,
    finish_run,
    start_run,
)
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def cluster_client(settings: Settings, address: str | None = None) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (or the settings'), or of a local cluster on 127.0.0.1."""
    address = address or settings.cluster.scheduler_address
    if address:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=settings.cluster.n_workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            protocol="tcp",
            # The scheduler serves its HTTP routes even without a dashboard: on a free loopback port.
            dashboard_address=f"{LOOPBACK}:0",
            worker_dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def shard_groups(files: Sequence[Path], files_per_shard: int) -> list[list[str]]:
    """Files in order, ``files_per_shard`` to a shard."""
    return [
        [str(path) for path in files[start : start + files_per_shard]]
        for start in range(0, len(files), files_per_shard)
    ]


def ingest_on_cluster(
    runtime: Runtime,
    paths: Sequence[Path],
    address: str | None = None,
    observer: IngestObserver | None = None,
    client: Client | None = None,
) -> IngestReport:
    """Ingest files on a Dask cluster (``client``, or one made from ``address`` / the settings)."""
    settings = runtime.settings
    if runtime.engine.dialect.name != "postgresql":
        raise VademecumError(
            "cluster ingest needs PostgreSQL as the store (workers write concurrently, which SQLite cannot): "
            "set VADEMECUM_DATABASE_URL to a postgresql+psycopg:// URL"
        )
    report, files = start_run(runtime, paths, observer)
    with ending_run(runtime, report):
        _remove_temporary(settings)
        groups = shard_groups(files, settings.cluster.files_per_shard)
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(cluster_client(settings, address))
            results = _run_shards(client, settings, report, groups, observer)
        _apply_removals(runtime, results)
    # The new shards must be searchable before the freshness check composes articles again.
    if isinstance(runtime.index, ShardedIndex):
        runtime.index.refresh()
    return finish_run(runtime, report)


def _run_shards(
    client: Client,
    settings: Settings,
    report: IngestReport,
    groups: list[list[str]],
    observer: IngestObserver | None,
) -> list[ShardResult]:
    futures = {
        client.submit(
            build_shard,
            settings,
            report.run_id,
            f"{report.run_id:06d}-{number:05d}",
            group,
            key=f"vademecum-shard-{report.run_id}-{number}",
            retries=settings.cluster.task_retries,
            pure=False,
        ): group
        for number, group in enumerate(groups)
    }
    results: list[ShardResult] = []
    for future in as_completed(futures):
        group = futures[future]
        try:
            result: ShardResult = future.result()
        except Exception as error:  # any worker-side failure (KilledWorker, a store error) fails the shard
            # The shard's transaction did not commit: none of its files is stored or searchable.
            for path in group:
                report.problems.append(IngestProblem(path, f"shard task failed: {type(error).__name__}: {error}"))
                report.counts["files_failed"] += 1
                if observer:
                    observer.file_done(Path(path), "failed", 0)
            continue
        results.append(result)
        report.counts.update(Counter(result.counts))
        report.problems.extend(result.problems)
        report.counts["shards_written"] += int(result.written)
        for path in group:
            outcome = result.outcomes.get(path, "failed")
            report.counts[f"files_{outcome}"] += 1
            if observer:
                observer.file_done(Path(path), outcome, 0)
    return results


def _remove_temporary(settings: Settings) -> None:
    """Remove the hidden folders of shard tasks that died (they never held committed passages)."""
    root = shards_root(settings.index_dir)
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name.startswith(TEMP_PREFIX):
                shutil.rmtree(folder, ignore_errors=True)


def _apply_removals(runtime: Runtime, results: list[ShardResult]) -> None:
    """Delete replaced and deleted documents' older passages from the main index and the other shards."""
    if not any(result.replaced or result.deleted for result in results):
        return
    index = ShardedIndex(runtime.settings.index_dir, runtime.settings.index, runtime.sessions)
    try:
        index.refresh()
        for result in results:
            index.delete_documents(result.replaced, keep_in=result.name)
            index.delete_documents(result.deleted)
        index.commit()
    finally:
        index.close()
