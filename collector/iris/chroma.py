"""iris: the chain embeddings in ChromaDB. The one module that talks to ChromaDB.

Embedded default: a persistent ChromaDB in the tool's data directory. ``IRIS_URL`` or
``--iris host:port`` uses a ChromaDB server instead. One collection per model (dimensions
differ between models); ids are ``session_id:run_number``, so storing a run again replaces it.
Every vector is supplied by the collector: no collection has an embedding function, so ChromaDB
never tries to download its own model.

The embedded store holds terms, session ids and echo types: its directory is 0700, and ChromaDB
creates its files under umask 077 (0600 files, 0700 directories), as the database keeps its own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from collector.core.errors import CollectorError, InputError, IrisError, one_line
from collector.core.paths import data_dir, make_data_dir, private_dir, private_files


class ChainHit(BaseModel):
    """One stored chain found by a similarity query."""

    model_config = ConfigDict(frozen=True)

    id: str
    session_id: str
    run_number: int
    term: str
    depth: int
    echo_types: str
    distance: float
    document: str


def collection_name(model_name: str) -> str:
    """A valid, stable ChromaDB collection name for a model (readable slug plus a hash)."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_name).strip("-._")[-40:].strip("-._") or "model"
    digest = hashlib.sha1(model_name.encode()).hexdigest()[:10]
    return f"chains-{slug}-{digest}"


def parse_server(spec: str) -> tuple[str, int, bool]:
    """``host:port`` or ``http(s)://host:port`` -> (host, port, ssl); InputError when malformed."""
    url = urlparse(spec if "://" in spec else f"http://{spec}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InputError(f"invalid iris address {spec!r}: use host:port or http://host:port")
    try:
        port = url.port or (443 if url.scheme == "https" else 8000)
    except ValueError:
        raise InputError(f"invalid port in iris address {spec!r}") from None
    return url.hostname, port, url.scheme == "https"


class Iris:
    """Chain embeddings stored in ChromaDB, one collection per model."""

    def __init__(self, client: Any, where: str, local: bool = False):
        self.client = client
        self.where = where
        self.local = local

    def _private(self) -> AbstractContextManager[None]:
        """Around every call into an embedded store: whatever ChromaDB creates is owner-only."""
        return private_files() if self.local else nullcontext()

    @classmethod
    def open(cls, server: str | None = None, path: Path | None = None) -> Iris:
        """A server (``server`` or ``$IRIS_URL``) if given, else a persistent store at ``path``."""
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        server = server or os.environ.get("IRIS_URL") or None
        try:
            if server:
                host, port, ssl = parse_server(server)
                client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
                client.heartbeat()
                return cls(client, f"ChromaDB server {host}:{port}")
            if path is None:
                path = make_data_dir(data_dir()) / "iris"
            private_dir(path, tree=True)
            with private_files():
                client = chromadb.PersistentClient(path=str(path), settings=settings)
            return cls(client, f"ChromaDB at {path}", local=True)
        except CollectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - chromadb raises many kinds
            where = f"server {server}" if server else f"store at {path}"
            raise IrisError(f"cannot open the ChromaDB {where}: {one_line(exc, limit=300)}") from None

    def _collection(self, model_name: str, create: bool):
        name = collection_name(model_name)
        try:
            with self._private():
                if create:
                    return self.client.get_or_create_collection(
                        name, embedding_function=None, metadata={"hnsw:space": "cosine", "model_name": model_name}
                    )
                return self.client.get_collection(name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            if not create:
                raise IrisError(f"no chains stored for model {model_name!r} in {self.where}") from None
            raise IrisError(f"cannot open collection {name} in {self.where}: {one_line(exc, limit=300)}") from None

    def upsert_chains(self, model_name: str, runs: Sequence[Any], vectors: Any) -> None:
        """Store one vector per run (RunRecord-like: session_id, run_number, term, depth, echo_types, chain)."""
        if not runs:
            return
        collection = self._collection(model_name, create=True)
        try:
            with self._private():
                collection.upsert(
                    ids=[f"{r.session_id}:{r.run_number}" for r in runs],
                    embeddings=[v.tolist() for v in vectors],
                    metadatas=[
                        {"session_id": str(r.session_id), "term": r.term, "run_number": r.run_number,
                         "depth": r.depth, "echo_types": ">".join(r.echo_types), "model_name": model_name}
                        for r in runs
                    ],
                    documents=["\n".join(r.chain) for r in runs],
                )
        except Exception as exc:  # noqa: BLE001
            raise IrisError(f"cannot store chain embeddings in {self.where}: {one_line(exc, limit=300)}") from None

    def count(self, model_name: str) -> int:
        collection = self._collection(model_name, create=False)
        with self._private():
            return collection.count()

    def get(self, model_name: str, ids: list[str]) -> dict[str, Any]:
        """Stored entries by id (ids, metadatas, documents, embeddings)."""
        collection = self._collection(model_name, create=False)
        with self._private():
            return collection.get(ids=ids, include=["metadatas", "documents", "embeddings"])

    def similar(self, model_name: str, vector: Any, k: int = 10, term: str | None = None) -> list[ChainHit]:
        """The ``k`` stored chains nearest to ``vector`` (cosine distance), optionally of one term."""
        collection = self._collection(model_name, create=False)
        try:
            with self._private():
                result = collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                          where={"term": term} if term else None,
                                          include=["metadatas", "documents", "distances"])
        except Exception as exc:  # noqa: BLE001
            raise IrisError(f"cannot query {self.where}: {one_line(exc, limit=300)}") from None
        return [
            ChainHit(id=i, session_id=m["session_id"], run_number=int(m["run_number"]), term=m["term"],
                     depth=int(m["depth"]), echo_types=m["echo_types"], distance=float(d), document=doc)
            for i, m, d, doc in zip(result["ids"][0], result["metadatas"][0], result["distances"][0],
                                    result["documents"][0])
        ]

