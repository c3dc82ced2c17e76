"""Opt-in connectors to the public evidence services: NCBI E-utilities, openFDA, DailyMed, NLM MEDLINE files.

Nothing here runs unless an operator asks for it (``vademecum fetch``/``update`` with the ``live`` setting
enabled or ``--allow-network``). Connectors only fetch bytes in the services' own formats; the readers in
:mod:`vademecum.sources` and the ingest service turn them into evidence, as for any local file.
"""
