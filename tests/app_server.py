"""The web app served for real on loopback, for the tests that drive it over HTTP (browser, security):
in a thread of the test process, or as ``vademecum serve --workers N`` in its own processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import uvicorn

from vademecum.settings import Settings
from vademecum.web.app import create_app


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """``vademecum serve``'s app under uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def server_environment(settings: Settings, web: dict[str, str]) -> dict[str, str]:
    """The environment giving ``vademecum serve`` the settings' data directory, corpus and store, and the
    web settings ``web`` (field name -> value); no other VADEMECUM_ variable of the test run leaks in."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("VADEMECUM_")}
    environment |= {"VADEMECUM_HOME": str(settings.home), "VADEMECUM_CORPUS": str(settings.corpus)}
    if settings.database_url is not None:
        environment["VADEMECUM_DATABASE_URL"] = settings.database_url
    environment |= {f"VADEMECUM_WEB__{name.upper()}": value for name, value in web.items()}
    return environment


@dataclass(frozen=True)
class Workers:
    """A running ``vademecum serve --workers N``: its base URL, and which worker answered a request."""

    base_url: str
    server: psutil.Process

    def pids(self) -> set[int]:
        """The worker processes (the server's children, without multiprocessing's resource tracker)."""
        return {child.pid for child in self.server.children() if "resource_tracker" not in " ".join(child.cmdline())}

    def send(self, client: httpx.Client, method: str, url: str, **options: object) -> tuple[httpx.Response, int]:
        """Send a request and return its response (read) and the pid of the worker that answered it: the
        one holding the server end of the client's connection, looked up before the response is read."""
        response = client.send(client.build_request(method, url, **options), stream=True)  # type: ignore[arg-type]
        try:
            port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            pid = next(
                (
                    pid
                    for pid in self.pids()
                    for connection in psutil.Process(pid).net_connections(kind="tcp")
                    if connection.raddr and connection.raddr.port == port
                ),
                None,
            )
            response.read()
        finally:
            response.close()
        assert pid is not None, f"no worker holds the connection from port {port}"
        return response, pid

    def fresh(self, cookies: httpx.Cookies | None = None) -> httpx.Client:
        """A client with a new connection (the kernel hands it to any worker), carrying ``cookies``."""
        return httpx.Client(base_url=self.base_url, cookies=cookies, timeout=120)

    def on_worker(
        self, pid: int, method: str, url: str, *, cookies: httpx.Cookies | None = None, **options: object
    ) -> httpx.Response:
        """The response to a request answered by worker ``pid`` (new connections until that worker takes one)."""
        for _ in range(200):
            with self.fresh(cookies) as client:
                response, answered_by = self.send(client, method, url, **options)
            if answered_by == pid:
                return response
        pytest.fail(f"worker {pid} took none of 200 connections")


@contextlib.contextmanager
def serving_workers(
    settings: Settings, tmp_path: Path, *, workers: int = 2, web: dict[str, str] | None = None
) -> Iterator[Workers]:
    """``vademecum serve --workers N`` on 127.0.0.1 over the settings' store (web settings ``web`` on top),
    once every worker has started; stopped (SIGTERM, as an operator would) on exit."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    command = [
        str(Path(sys.executable).with_name("vademecum")),
        *("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, env=server_environment(settings, web or {}), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 300
        while log.read_text().count("Application startup complete") < workers:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server's workers did not all start: {log.read_text()}")
            time.sleep(0.1)
        yield Workers(f"http://127.0.0.1:{port}", psutil.Process(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=60)
