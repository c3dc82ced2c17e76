"""Issue 12, items 2 and 3: the sign-in throttle holds against parallel guesses and cannot lock a user out.

Item 2 (raced): 30 wrong passwords sent at once used to be checked against the limit of 5 before any was
recorded (19 were checked in the probe), so a right password among them could sign in. Item 3 (denial of
service): 5 wrong passwords from anywhere locked the real user, the admin included, out everywhere for 15
minutes. Both run against a real server (uvicorn on loopback) on SQLite and PostgreSQL; the policy's
other limits are checked through the service with a fixed clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from security.security_support import PASSWORD, form_token, make_users, sign_in
from vademecum.accounts.models import LoginAttempt
from vademecum.articles.models import ADMIN, REVIEWER
from vademecum.errors import AuthenticationError, TooManyAttempts
from vademecum.services import accounts
from vademecum.services.runtime import Runtime

PARALLEL = 30
T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def clock(seconds: float) -> Callable[[], dt.datetime]:
    """A clock stopped ``seconds`` after T0."""
    moment = T0 + dt.timedelta(seconds=seconds)
    return lambda: moment


def client_from(base_url: str, address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (a loopback address other than 127.0.0.1 is another
    client to the server)."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), timeout=60)


def failures_recorded(runtime: Runtime, username: str) -> int:
    with runtime.session() as session:
        return session.scalar(
            select(func.count()).where(LoginAttempt.username == username, LoginAttempt.succeeded.is_(False))
        )


def test_parallel_wrong_passwords_are_counted_before_any_is_checked(live_server: str, runtime: Runtime) -> None:
    make_users(runtime, {"adm": ADMIN})
    limit = runtime.settings.web.login_max_failures
    with client_from(live_server, "127.0.0.1") as attacker:
        token = form_token(attacker.get("/login").text)
        start = threading.Barrier(PARALLEL)

        def guess(attempt: int) -> int:
            start.wait()
            form = {"username": "adm", "password": f"wrong guess {attempt}", "csrf_token": token}
            return attacker.post("/login", data=form, follow_redirects=False).status_code

        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = list(pool.map(guess, range(PARALLEL)))
        # Only `limit` guesses were checked (401); every other one was refused unchecked (429).
        assert sorted(statuses) == [401] * limit + [429] * (PARALLEL - limit), f"{statuses.count(401)} checked"
        assert failures_recorded(runtime, "adm") == limit
        # The right password from the guessing address is refused too: it is not checked at all.
        assert sign_in(attacker, "adm").status_code == 429
    # Item 3: the admin, at another address, signs in at once.
    with client_from(live_server, "127.0.0.2") as admin:
        response = sign_in(admin, "adm")
        assert (response.status_code, response.headers["location"]) == (303, "/")


def test_a_right_password_among_parallel_guesses_needs_one_of_the_allowed_tries(
    live_server: str, runtime: Runtime
) -> None:
    """The probe's variant: the real password as attempt 13 of 30 sent at once. At most ``limit`` wrong
    passwords are checked. The right one signs in only when it was recorded among the attempts allowed;
    once verified it no longer counts as a failure, so a guess arriving after that may still be checked."""
    make_users(runtime, {"adm": ADMIN})
    limit = runtime.settings.web.login_max_failures
    with client_from(live_server, "127.0.0.1") as attacker:
        token = form_token(attacker.get("/login").text)
        start = threading.Barrier(PARALLEL)

        def guess(attempt: int) -> int:
            start.wait()
            password = PASSWORD if attempt == 13 else f"wrong guess {attempt}"
            form = {"username": "adm", "password": password, "csrf_token": token}
            return attacker.post("/login", data=form, follow_redirects=False).status_code

        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = list(pool.map(guess, range(PARALLEL)))
    checked = [status for status in statuses if status != 429]
    wrong = checked.count(401)
    assert wrong <= limit, f"{wrong} wrong passwords checked, signed in: {303 in checked}"
    if 303 not in checked:
        assert wrong == limit
    assert failures_recorded(runtime, "adm") == wrong


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(runtime: Runtime) -> None:
    make_users(runtime, {"rev": REVIEWER})
    web = runtime.settings.web
    for attempt in range(web.login_max_failures):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.login(runtime, "rev", f"wrong {attempt}", "10.6.6.6", now=clock(attempt))
    with pytest.raises(TooManyAttempts, match="for this user name from this address") as refused:
        accounts.login(runtime, "rev", PASSWORD, "10.6.6.6", now=clock(10))
    assert refused.value.retry_after == web.login_window_seconds - 10
    # The real user at their own address is not affected, and neither is another name at the guessing one.
    assert accounts.login(runtime, "rev", PASSWORD, "10.1.1.1", now=clock(11)).username == "rev"
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        accounts.login(runtime, "someone", "wrong", "10.6.6.6", now=clock(12))
    # Once the window has passed, the guessing address may try again.
    assert accounts.login(runtime, "rev", PASSWORD, "10.6.6.6", now=clock(web.login_window_seconds + 1))


def test_one_address_guessing_many_names_is_throttled(runtime: Runtime) -> None:
    make_users(runtime, {"rev": REVIEWER})
    limit = runtime.settings.web.login_max_failures_per_address
    for attempt in range(limit):
        with pytest.raises(AuthenticationError):
            accounts.login(runtime, f"guess{attempt}", "whatever12345", "10.2.0.1", now=clock(1))
    with pytest.raises(TooManyAttempts, match="from this address"):
        accounts.login(runtime, "rev", PASSWORD, "10.2.0.1", now=clock(2))
    assert accounts.login(runtime, "rev", PASSWORD, "10.2.0.2", now=clock(2))


def test_guessing_from_many_addresses_meets_growing_delays_not_a_lock_out(runtime: Runtime) -> None:
    make_users(runtime, {"adm": ADMIN})
    web = runtime.settings.web
    per_address = web.login_max_failures
    for attempt in range(web.login_user_ceiling):
        address = f"10.3.{attempt // per_address}.1"  # a new address whenever one's own limit is reached
        with pytest.raises(AuthenticationError):
            accounts.login(runtime, "adm", f"wrong {attempt}", address, now=clock(attempt))
    last = web.login_user_ceiling - 1
    # Past the ceiling each attempt for the name waits 1 s, 2 s, 4 s... after the last failure, from anywhere.
    delays = []
    for step in range(8):
        with pytest.raises(TooManyAttempts, match="for this user name") as refused:
            accounts.login(runtime, "adm", "wrong", "10.4.0.1", now=clock(last))
        delays.append(refused.value.retry_after)
        last += refused.value.retry_after
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.login(runtime, "adm", f"wrong again {step}", f"10.5.0.{step}", now=clock(last))
    assert delays == [1, 2, 4, 8, 16, 32, web.login_max_delay_seconds, web.login_max_delay_seconds]
    # The real admin waits at most the longest delay, never the window: then the right password works.
    with pytest.raises(TooManyAttempts) as refused:
        accounts.login(runtime, "adm", PASSWORD, "10.9.9.9", now=clock(last))
    assert refused.value.retry_after <= web.login_max_delay_seconds
    signed_in = accounts.login(runtime, "adm", PASSWORD, "10.9.9.9", now=clock(last + refused.value.retry_after))
    assert signed_in.username == "adm"
