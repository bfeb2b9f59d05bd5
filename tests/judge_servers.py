"""Real HTTP servers (standard library, one thread each) that play an LLM judge's server badly, for
the failure tests of llm-1: one that answers slowly or with nonsense, and a proxy in front of a real
server that stops answering after a number of requests. (A server that is down is a closed port.)"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "slow", "not_json", "no_label", "unknown_label", "http_400", "http_503", "models_not_json",
         "no_models")


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a timeout) is no error of the server's: nothing is printed."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


def _answer(content: str, model: str, top: list[tuple[str, float]] | None) -> dict:
    choice: dict = {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": content}}
    if top is not None:
        choice["logprobs"] = {"content": [{"token": content, "logprob": top[0][1] if top else -1.0,
                                           "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]}
    return {"object": "chat.completion", "model": model, "choices": [choice]}


class FakeJudgeServer:
    """An OpenAI-compatible server in a thread that serves ``model_id`` and answers as ``mode`` says:
    ``ok`` (label 2, CONFIRMS), ``slow`` (the same after ``delay`` seconds), ``not_json``,
    ``no_label``, ``unknown_label``, ``http_400``, ``http_503``, ``models_not_json``, ``no_models``.
    ``requests`` counts the chat requests."""

    def __init__(self, mode: str = "ok", model_id: str = "fake-judge-1b", delay: float = 3.0) -> None:
        assert mode in MODES
        self.mode, self.model_id, self.delay = mode, model_id, delay
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if not self.path.endswith("/models"):
                    return self._send(404, b'{"error": "not found"}')
                if server.mode == "models_not_json":
                    return self._send(200, b"<html>\x1b[31mwelcome</html>", "text/html")
                data = [] if server.mode == "no_models" else [{"id": server.model_id, "object": "model",
                                                               "owned_by": "test"}]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests += 1
                mode = server.mode
                if mode == "slow":
                    time.sleep(server.delay)
                if mode == "not_json":
                    return self._send(200, b"<html>\x1b[2Jnot json", "text/html")
                if mode == "http_400":
                    return self._send(400, json.dumps({"error": {"message": "bad \x1b[31mrequest"}}).encode())
                if mode == "http_503":
                    return self._send(503, b'{"error": {"message": "Loading model"}}')
                if mode == "no_label":
                    answer = _answer("The", server.model_id, None)
                elif mode == "unknown_label":
                    answer = _answer("7", server.model_id, [("7", -0.1), ("The", -2.0)])
                else:
                    answer = _answer("2", server.model_id, [("2", -0.2), ("1", -1.9)])
                self._send(200, json.dumps(answer).encode())

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeJudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class DyingProxy:
    """Forwards every request to the server at ``target`` (a base URL), until ``chat_requests`` chat
    requests have been answered; after that it answers every chat request with HTTP 503, as a server
    that went away behind its gateway does."""

    def __init__(self, target: str, chat_requests: int) -> None:
        self.target, self.left = target.rstrip("/"), chat_requests
        self.forwarded = 0
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _relay(self, body: bytes | None) -> None:
                path = self.path.removeprefix("/v1")
                request = urllib.request.Request(proxy.target + path, data=body, method=self.command,
                                                 headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=600) as reply:
                        status, payload = reply.status, reply.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._relay(None)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    alive = proxy.left > 0
                    proxy.left -= 1
                if not alive:
                    payload = b'{"error": {"message": "upstream gone"}}'
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self._relay(body)
                with lock:
                    proxy.forwarded += 1

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DyingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
