"""``vademecum serve --workers 2`` for real (issue 13, item 2): every worker answers; sessions, CSRF and the
sign-in throttle hold across workers, on SQLite (WAL) and PostgreSQL; every worker sees an ingest made
while it serves; a worker whose composition slot and
queue are taken refuses a new question with 503 and Retry-After while its reads still answer.

Which worker answered is read from the kernel: the worker process holding the server end of the request's
connection. A new connection goes to whichever worker accepts it first, so a test wanting a given worker
opens connections until that worker takes one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from app_server import Workers, serving_workers
from security.security_support import PASSWORD, form_token, make_users, page_csrf
from vademecum.answer.understand import understand
from vademecum.articles.models import EDITOR
from vademecum.errors import QuestionRefused
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings

MAX_FAILURES = 2


@pytest.fixture
def workers(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[Workers]:
    """Two workers over the test's store (migrated by ``runtime``; the server's own migration is then a
    no-op), with a sign-in limit of two failures."""
    with serving_workers(settings, tmp_path, web={"login_max_failures": str(MAX_FAILURES)}) as served:
        yield served


def answering_pids(workers: Workers, requests: int = 200) -> set[int]:
    """The workers that answered ``/api/corpus`` over ``requests`` new connections (stopping when all have)."""
    seen: set[int] = set()
    expected = workers.pids()
    for _ in range(requests):
        with workers.fresh() as client:
            response, pid = workers.send(client, "GET", "/api/corpus")
        assert response.status_code == 200
        seen.add(pid)
        if seen == expected:
            break
    return seen


def test_both_workers_answer(workers: Workers) -> None:
    pids = workers.pids()
    assert len(pids) == 2
    assert answering_pids(workers) == pids


def test_a_session_made_on_one_worker_is_honoured_by_the_other(workers: Workers, runtime: Runtime) -> None:
    make_users(runtime, {"ed": EDITOR})
    with workers.fresh() as browser:
        form, first = workers.send(browser, "GET", "/login")
        # The sign-in goes over the same connection, to the same worker as the form.
        signed_in, same = workers.send(
            browser,
            "POST",
            "/login",
            data={"username": "ed", "password": PASSWORD, "csrf_token": form_token(form.text)},
        )
        assert (signed_in.status_code, signed_in.headers["location"], same) == (303, "/", first)
        cookies = browser.cookies
    (other,) = workers.pids() - {first}
    page = workers.on_worker(other, "GET", "/corpus", cookies=cookies)
    assert page.status_code == 200
    assert '<span class="signed-in">ed <span class="role">(editor)</span>' in page.text
    with workers.fresh(cookies) as client:
        csrf = page_csrf(client)
    created = workers.on_worker(
        other,
        "POST",
        "/api/tokens",
        cookies=cookies,
        json={"name": "made on the other worker"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201 and created.json()["name"] == "made on the other worker"
    # Without the session's CSRF token the other worker refuses the same request.
    refused = workers.on_worker(other, "POST", "/api/tokens", cookies=cookies, json={"name": "no token"})
    assert refused.status_code == 403


def test_the_sign_in_throttle_counts_the_failures_of_every_worker(workers: Workers, runtime: Runtime) -> None:
    make_users(runtime, {"ed": EDITOR})
    answers: list[tuple[int, int]] = []  # (status, worker)
    # Wrong passwords over new connections until each worker has refused one with 429: the failures the
    # limit counts were checked by whichever workers took them, so at least one worker refuses after
    # checking fewer than the limit itself.
    for _ in range(200):
        with workers.fresh() as client:
            token = form_token(client.get("/login").text)
            form = {"username": "ed", "password": "not the password", "csrf_token": token}
            response, pid = workers.send(client, "POST", "/login", data=form)
        answers.append((response.status_code, pid))
        if {pid for status, pid in answers if status == 429} == workers.pids():
            break
    statuses = [status for status, _ in answers]
    assert statuses[:MAX_FAILURES] == [401] * MAX_FAILURES
    assert set(statuses[MAX_FAILURES:]) == {429}
    checked_by = [pid for status, pid in answers if status == 401]
    assert {pid for status, pid in answers if status == 429} == workers.pids()
    assert any(checked_by.count(pid) < MAX_FAILURES for pid in workers.pids())


def test_an_ingest_while_serving_reaches_every_worker(workers: Workers, runtime: Runtime, corpus_dir: Path) -> None:
    guideline = sorted((corpus_dir / "guidelines" / "nci-pdq").glob("*.md"))[0]

    def indexed(pid: int) -> int:
        return workers.on_worker(pid, "GET", "/api/corpus").json()["indexed_passages"]

    assert {indexed(pid) for pid in workers.pids()} == {0}
    # The workers only read the index: the ingest (another process would do the same) takes its writer.
    report = ingest_paths(runtime, [guideline])
    assert report.ok, report.problems
    expected = runtime.index.count()
    assert expected > 0
    for pid in workers.pids():
        deadline = time.monotonic() + 60
        while indexed(pid) != expected:
            assert time.monotonic() < deadline, f"worker {pid} still does not see the ingested passages"
            time.sleep(0.2)


# --- Composition limit (PostgreSQL: a table lock holds a composition in the middle of its work) ----------


def clinical_questions(runtime: Runtime, eval_dir: Path, count: int) -> list[str]:
    """The first ``count`` BioASQ questions (../shared/eval) the engine accepts as clinical questions."""
    vocabulary = runtime.vocabulary
    accepted: list[str] = []
    for path in sorted((eval_dir / "bioasq").glob("*.json")):
        for item in json.loads(path.read_text())["questions"]:
            try:
                understand(item["body"], vocabulary.mesh, vocabulary.abbreviations, vocabulary.drugs)
            except QuestionRefused:
                continue
            accepted.append(item["body"])
            if len(accepted) == count:
                return accepted
    pytest.fail(f"fewer than {count} BioASQ questions are accepted")


def compositions_waiting(store: Engine) -> int:
    """Queries of the store waiting for a lock (the compositions held by the test's table lock)."""
    with store.connect() as connection:
        waiting = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return int(waiting or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_full_composition_limit_answers_503_with_retry_after_and_reads_still_answer(
    settings: Settings, runtime: Runtime, corpus_dir: Path, tmp_path: Path
) -> None:
    compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
    answered, question = clinical_questions(runtime, corpus_dir.parent / "eval", 2)
    assert settings.database_url is not None
    store = create_engine(settings.database_url)
    held: list[httpx.Response] = []
    senders: list[threading.Thread] = []
    with serving_workers(settings, tmp_path, web={"compose_slots": "1", "compose_queue": "0"}) as workers:

        def ask() -> None:
            with workers.fresh() as client:
                held.append(client.post("/api/ask", json={"question": question}))

        with workers.fresh() as client:
            stored = client.post("/api/ask", json={"question": answered})
            assert stored.status_code == 201
        holder = store.connect()
        try:
            # Every composition reads the documents table: while the test holds this lock, a composition
            # waits in the middle of its work, holding its worker's only slot.
            holder.execute(text("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE"))
            # Ask until both workers hold a composition; an ask a busy worker takes is refused at once.
            for _ in range(50):
                if compositions_waiting(store) == 2:
                    break
                waiting, replies = compositions_waiting(store), len(held)
                senders.append(threading.Thread(target=ask))
                senders[-1].start()
                deadline = time.monotonic() + 120
                while compositions_waiting(store) == waiting and len(held) == replies:
                    assert time.monotonic() < deadline, "the ask neither waited on the lock nor was answered"
                    time.sleep(0.05)
            assert compositions_waiting(store) == 2
            assert all(r.status_code == 503 for r in held)
            # Both workers are full: a new question is refused with the seconds to wait, in the API...
            with workers.fresh() as client:
                refused = client.post("/api/ask", json={"question": question})
                assert refused.status_code == 503
                assert int(refused.headers["retry-after"]) >= 1
                assert refused.json()["detail"].endswith(f"ask again in {refused.headers['retry-after']} s")
                # ... and in the ask form, which says so on a page.
                home = client.get("/")
                assert home.status_code == 200
                page = client.post("/ask", data={"question": question, "csrf_token": form_token(home.text)})
                assert page.status_code == 503 and int(page.headers["retry-after"]) >= 1
                assert "ask again in" in page.text and "text/html" in page.headers["content-type"]
                # A question already answered is served from the store: it needs no slot.
                again = client.post("/api/ask", json={"question": answered})
                assert again.status_code == 200
                assert again.json()["article_id"] == stored.json()["article_id"]
                # Reads do not queue behind the compositions (the corpus page would: it counts the
                # documents the test has locked).
                assert client.get("/api/articles").json()["total"] == 1
                assert f'<a href="/articles/{stored.json()["article_id"]}">' in client.get("/articles").text
        finally:
            holder.rollback()
            holder.close()
            for sender in senders:
                sender.join()
        composed = [r for r in held if r.status_code != 503]
        # The two held compositions finish once the lock is gone: one article, created by one of them.
        assert sorted(r.status_code for r in composed) == [200, 201]
        assert len({r.json()["article_id"] for r in composed}) == 1
        assert composed[0].json()["article_id"] != stored.json()["article_id"]
    store.dispose()
