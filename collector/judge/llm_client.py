"""The client of an LLM judge's server: any OpenAI-compatible endpoint (vLLM ``serve``, a llama.cpp
server, Ollama, OpenAI), named by its base URL (``http://host:8080/v1``) and a model id.

Standard library only (urllib and threads): the core needs no HTTP client of its own. Every request
has a timeout; a transient failure (connection refused or reset, a timeout, HTTP 408, 429, 500, 502,
503, 504) is tried again a bounded number of times after a short pause; anything else, and a reply
that is not a JSON object, raises :class:`~collector.core.errors.JudgeServerError` with one line.

The API key comes only from ``NYX_JUDGE_API_KEY`` and is sent as a bearer token; it is never shown.
A URL is shown only through :func:`mask_url` and refused if it holds a user, password or query (where
a key could hide); text from the server only through :func:`shown` (control characters escaped,
bounded), so a reply cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from collector.core.errors import InputError, JudgeServerError
from collector.core.printable import printable

ENV_URL = "NYX_JUDGE_URL"
ENV_MODEL = "NYX_JUDGE_MODEL"
ENV_API_KEY = "NYX_JUDGE_API_KEY"

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64
DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 600.0
RETRIES = 2
"""Tries after the first, for transient failures only."""
BACKOFF_S = 0.5
"""The pause before the first retry; it doubles for each further one."""
MAX_REPLY_BYTES = 1 << 20
TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})
MAX_MODEL_ID = 300

T = TypeVar("T")
R = TypeVar("R")


def shown(text: object, limit: int = 80) -> str:
    """``text`` safe for one terminal line (``collector.core.printable``, line feeds as ``\\x0a`` too),
    cut to ``limit`` characters with an ellipsis."""
    text = printable(text, line=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mask_url(url: str) -> str:
    """``url`` without anything that could be a secret: user information and query become ``***``."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    masked = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))
    return shown(masked, 200)


def check_url(url: str, source: str = "--judge-url") -> str:
    """The base URL, checked (http or https, a host, no user, password, query or fragment) and
    without a trailing slash; InputError otherwise."""
    text = url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port  # a port that is no number raises ValueError
    except ValueError:
        raise InputError(f"{source} is not a URL: {mask_url(text)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{source} must be an http:// or https:// URL with a host, e.g. "
                         f"http://127.0.0.1:8080/v1; got {mask_url(text)}")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise InputError(f"{source} must hold no user, password, query or fragment (put an API key in "
                         f"{ENV_API_KEY}); got {mask_url(text)}")
    if any(unicodedata.category(ch).startswith("C") or ch.isspace() for ch in text):
        raise InputError(f"{source} holds spaces or control characters: {mask_url(text)}")
    return text.rstrip("/")


def check_model_id(model: str, source: str) -> str:
    """A model id as a server names it: printable, at most MAX_MODEL_ID characters."""
    text = model.strip()
    if not text or len(text) > MAX_MODEL_ID or any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InputError(f"{source} must be a printable model id of 1 to {MAX_MODEL_ID} characters, "
                         f"got '{shown(text)}'")
    return text


@dataclass(frozen=True)
class EndpointConfig:
    """Where the judge's server is and how to talk to it (nothing here changes a verdict)."""

    url: str
    model: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = RETRIES
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> EndpointConfig:
        """From the judge options (``url``, ``model``, ``concurrency``, ``timeout_s``), each else from
        its environment variable; the API key only from ``NYX_JUDGE_API_KEY``."""
        url_source = "--judge-url" if options.get("url") else ENV_URL
        url = options.get("url") or environ.get(ENV_URL, "")
        if not url.strip():
            raise InputError(f"the LLM judge needs its server: --judge-url URL or {ENV_URL} "
                             "(an OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1)")
        model_source = "--judge-model" if options.get("model") else ENV_MODEL
        model = options.get("model") or environ.get(ENV_MODEL) or None
        concurrency = options.get("concurrency")
        timeout_s = options.get("timeout_s")
        check_endpoint_limits(concurrency, timeout_s)
        concurrency = DEFAULT_CONCURRENCY if concurrency is None else concurrency
        timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        return cls(url=check_url(url, url_source), model=check_model_id(model, model_source) if model else None,
                   timeout_s=float(timeout_s), concurrency=int(concurrency),
                   api_key=environ.get(ENV_API_KEY) or None)


def check_endpoint_limits(concurrency: int | None, timeout_s: float | None) -> None:
    """InputError unless 1 <= concurrency <= 64 and 0 < timeout <= 600 s (None: the default)."""
    if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"--judge-concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}")
    if timeout_s is not None and not 0 < timeout_s <= MAX_TIMEOUT_S:  # also refuses NaN
        raise InputError(f"--judge-timeout must be above 0 and at most {MAX_TIMEOUT_S:g} seconds, got {timeout_s}")


class _Transient(Exception):
    """A failure worth another try; its message is the reason."""


class Endpoint:
    """Requests to one server: JSON in, JSON out, bounded in time, tries and size."""

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.where = mask_url(config.url)

    def get(self, path: str) -> dict[str, Any]:
        return self._request("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, json.dumps(body).encode())

    def _request(self, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        url = self.config.url + path
        tries = self.config.retries + 1
        for attempt in range(tries):
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                return self._once(request, path)
            except _Transient as exc:
                if attempt + 1 == tries:
                    raise JudgeServerError(f"the judge server at {self.where} {exc} ({tries} tries)") from None
                time.sleep(BACKOFF_S * 2 ** attempt)
        raise AssertionError("unreachable")

    def _once(self, request: urllib.request.Request, path: str) -> dict[str, Any]:
        timeout = self.config.timeout_s
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                body = reply.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in TRANSIENT_HTTP:
                raise _Transient(f"answered HTTP {exc.code} to {path}{detail}") from None
            hint = " (check NYX_JUDGE_API_KEY)" if exc.code in (401, 403) else ""
            raise JudgeServerError(f"the judge server at {self.where} answered HTTP {exc.code} to {path}{detail}"
                                   f"{hint}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise _Transient(f"did not answer {path} within {timeout:g} s") from None
            if isinstance(reason, ConnectionRefusedError):
                raise _Transient("is down (connection refused)") from None
            if isinstance(reason, OSError):
                raise _Transient(f"is unreachable ({shown(reason.strerror or reason, 60)})") from None
            raise JudgeServerError(f"the judge server at {self.where} is unreachable ({shown(reason, 60)})") from None
        except TimeoutError:
            raise _Transient(f"did not answer {path} within {timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            raise _Transient(f"dropped the connection ({type(exc).__name__})") from None
        if len(body) > MAX_REPLY_BYTES:
            raise JudgeServerError(f"the judge server at {self.where} answered {path} with more than "
                                   f"{MAX_REPLY_BYTES >> 20} MiB")
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            text = body.decode("utf-8", "replace")
            raise JudgeServerError(f"the judge server at {self.where} answered {path} with something that is not "
                                   f"a JSON object: '{shown(text, 60)}'")
        return parsed

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]`` with up to ``concurrency`` requests at once, in order. The
        first failure stops the rest (none is started after it) and is raised. The workers are daemon
        threads, so Ctrl-C does not wait for a slow server."""
        workers = min(self.config.concurrency, len(items))
        if workers <= 1:
            return [fn(item) for item in items]
        results: list[Any] = [None] * len(items)
        failures: list[BaseException] = []
        lock = threading.Lock()
        position = [0]

        def work() -> None:
            while True:
                with lock:
                    if failures or position[0] >= len(items):
                        return
                    n = position[0]
                    position[0] += 1
                try:
                    results[n] = fn(items[n])
                except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                    with lock:
                        failures.append(exc)
                    return

        threads = [threading.Thread(target=work, name=f"llm-judge-{i}", daemon=True) for i in range(workers)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            with lock:  # an interrupted caller: no worker takes another item
                position[0] = len(items)
        if failures:
            raise failures[0]
        return results


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """``: <the server's message>`` from an error reply (OpenAI's ``{"error": {"message": ...}}`` or
    text), escaped and short; empty if there is none."""
    try:
        raw = exc.read(4096).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the status alone is enough
        return ""
    message: object = raw
    try:
        parsed = json.loads(raw)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = error.get("message", error) if isinstance(error, dict) else (error or raw)
    except ValueError:
        pass
    text = " ".join(str(message).split())
    return f": {shown(text, 80)}" if text else ""
