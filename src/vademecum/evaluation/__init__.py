"""Retrieval-quality evaluation on public biomedical benchmarks (BioASQ, PubMedQA) against a BM25 baseline."""
