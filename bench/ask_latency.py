"""Ask latency on the demo corpus: varied real questions through the ask service in one warm process.

Questions: BioASQ question bodies and PubMedQA questions (no one here wrote them), cycled to the
requested count. Refused questions (not clinical) are counted and timed too. Uses the data
directory of ``ingest_demo.py`` (run it first; ``make bench`` does).
"""

from __future__ import annotations

import argparse
import time

from benchlib import bench_settings, summary_ms, write_result
from search_latency import real_questions

from vademecum.errors import QuestionRefused
from vademecum.services.ask import ask
from vademecum.services.runtime import open_runtime


def main() -> None:
    """Warm the process with one question, then time each question and report p50/p95."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    questions = real_questions(args.questions)
    runtime = open_runtime(bench_settings("demo"))
    try:
        started = time.perf_counter()
        ask(runtime, questions[0])
        warm_up = time.perf_counter() - started
        timings, refused, insufficient = [], 0, 0
        for question in questions:
            started = time.perf_counter()
            try:
                article = ask(runtime, question)
                insufficient += not article.sufficient
            except QuestionRefused:
                refused += 1
            timings.append(time.perf_counter() - started)
    finally:
        runtime.close()
    write_result(
        "ask_latency",
        {
            "questions": len(questions),
            "refused": refused,
            "insufficient_evidence": insufficient,
            "first_question_s": round(warm_up, 2),
            **summary_ms(timings),
        },
    )


if __name__ == "__main__":
    main()
