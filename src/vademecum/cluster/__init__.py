"""Ingestion on Dask distributed: files sharded over workers, one index shard and store batch per task.

:func:`vademecum.cluster.ingest.ingest_on_cluster` is the entry point (``vademecum ingest --cluster``);
:mod:`vademecum.cluster.tasks` holds what runs on the workers.
"""
