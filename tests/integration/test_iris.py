"""Chain embeddings in iris: an embedded ChromaDB and a `chroma run` server on loopback."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from collector.iris.chroma import Iris, collection_name
from collector.core.paths import data_dir_mode
from tests.cli_helpers import query, run_cli
from tests.modes import open_to_others, usual_umask

CHROMA = Path(sys.executable).with_name("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real ChromaDB server (`chroma run`) on a free loopback port, stopped afterwards."""
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path / "data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chroma run did not start: " + (path / "server.log").read_text()[-2000:])
                time.sleep(0.3)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(params=["embedded", "server"])
def iris_backend(request, tmp_path, monkeypatch):
    """(CLI arguments, how to open the same store) for each kind of iris."""
    if request.param == "embedded":
        monkeypatch.setenv("NYX_HOME", str(tmp_path / "home"))
        return [], lambda: Iris.open(path=tmp_path / "home" / "iris")
    server = request.getfixturevalue("chroma_server")
    return ["--iris", server], lambda: Iris.open(server)


def test_chains_stored_with_ids_and_metadata(capsys, db_dsn, tiny_model_dir, iris_backend):
    args, open_iris = iris_backend
    result = run_cli(capsys, "Wille", "--runs", "8", "--seed", "4", "--max-new-tokens", "4",
                     "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", "--json", *args)
    assert result.code == 0, result.err
    sid = json.loads(result.out)["session_id"]
    runs = query(db_dsn, "select * from raw.variance_probe_runs where session_id = %s order by run_number", (sid,))
    iris = open_iris()
    model = str(tiny_model_dir)
    ids = [f"{sid}:{r['run_number']}" for r in runs]
    stored = iris.get(model, ids)
    assert sorted(stored["ids"]) == sorted(ids)
    by_id = dict(zip(stored["ids"], zip(stored["metadatas"], stored["documents"])))
    for r in runs:
        meta, document = by_id[f"{sid}:{r['run_number']}"]
        assert meta == {"session_id": sid, "term": "Wille", "run_number": r["run_number"], "depth": r["depth"],
                        "echo_types": ">".join(r["echo_types"]), "model_name": model}
        assert document == "\n".join(r["chain"])
    assert collection_name(model) in [c.name for c in iris.client.list_collections()]

    # storing the same runs again replaces them: no duplicates, same vectors
    before = iris.count(model)
    again = [SimpleNamespace(session_id=sid, run_number=r["run_number"], term=r["term"], depth=r["depth"],
                             echo_types=r["echo_types"], chain=r["chain"]) for r in runs]
    iris.upsert_chains(model, again, stored["embeddings"])
    assert iris.count(model) == before

    # the session's semantic variance is in phoebe
    spread = query(db_dsn, "select * from raw.session_semantic_variance where session_id = %s", (sid,))[0]
    assert spread["chains"] == 8 and 0 <= spread["mean_centroid_distance"] <= 2
    assert spread["dimensions"] == len(stored["embeddings"][0])


def test_similar_finds_a_known_chain_first(capsys, db_dsn, tiny_model_dir, iris_backend):
    args, _open = iris_backend
    for term in ("Pflicht", "Vernunft"):
        result = run_cli(capsys, term, "--runs", "6", "--seed", "2", "--max-new-tokens", "4",
                         "--model", str(tiny_model_dir), "--dsn", db_dsn, "--quiet", *args)
        assert result.code == 0, result.err
    shallow = query(db_dsn, "select run_number from raw.variance_probe_runs where term = 'Vernunft' and depth = 0")
    assert shallow, "this seed should give at least one depth-0 chain (the framed term alone)"
    # a depth-0 chain is the framed term alone, so looking up that text finds such a chain at distance ~0
    result = run_cli(capsys, "similar", 'The word "Vernunft" means', "--model", str(tiny_model_dir), "-k", "3",
                     "--json", *args)
    assert result.code == 0, result.err
    hits = [json.loads(line) for line in result.out.splitlines()]
    assert len(hits) == 3
    assert hits[0]["term"] == "Vernunft" and hits[0]["depth"] == 0 and hits[0]["distance"] < 1e-4
    only = run_cli(capsys, "similar", 'The word "Vernunft" means', "--term", "Pflicht", "--model",
                   str(tiny_model_dir), "--json", *args)
    assert only.code == 0 and {json.loads(line)["term"] for line in only.out.splitlines()} == {"Pflicht"}


def test_unreachable_iris_server_fails_before_anything_is_written(capsys, db_dsn, tiny_model_dir):
    before = query(db_dsn, "select count(*) as n from raw.probe_sessions")[0]["n"]
    result = run_cli(capsys, "Wille", "--runs", "2", "--model", str(tiny_model_dir), "--dsn", db_dsn,
                     "--iris", f"127.0.0.1:{_free_port()}")
    assert result.code == 7
    assert result.err.startswith("Error: cannot open the ChromaDB server") and result.err.count("\n") == 1
    assert query(db_dsn, "select count(*) as n from raw.probe_sessions")[0]["n"] == before


def test_no_iris_skips_the_vector_store(capsys, db_dsn, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NYX_HOME", str(tmp_path / "home"))
    result = run_cli(capsys, "Wille", "--runs", "2", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                     "--dsn", db_dsn, "--quiet", "--no-iris")
    assert result.code == 0, result.err
    assert not (tmp_path / "home" / "iris").exists()
    assert query(db_dsn, "select count(*) as n from raw.session_semantic_variance")[0]["n"] == 0


def test_the_embedded_store_is_its_owners_alone(capsys, db_dsn, tiny_model_dir, tmp_path, monkeypatch):
    """iris holds terms, session ids and echo types: after a collect and a query under the usual
    umask, nothing in the data directory is open to another local user (0700 directories, 0600
    files, as PostgreSQL keeps its own; the data directory itself 0711 as root, see paths)."""
    home = tmp_path / "home"
    monkeypatch.setenv("NYX_HOME", str(home))
    with usual_umask():
        result = run_cli(capsys, "Wille", "--runs", "4", "--seed", "3", "--max-new-tokens", "4", "--model",
                         str(tiny_model_dir), "--dsn", db_dsn, "--quiet")
        assert result.code == 0, result.err
        found = run_cli(capsys, "similar", 'The word "Wille" means', "--model", str(tiny_model_dir), "-k", "2")
        assert found.code == 0, found.err
    assert (home / "iris" / "chroma.sqlite3").is_file()
    assert open_to_others(home) == []
    assert stat.S_IMODE(home.stat().st_mode) == data_dir_mode()


def test_a_store_an_older_nyx_left_open_is_closed_when_opened(tmp_path, monkeypatch):
    """nyx made the data directory and iris 0755 and ChromaDB's files 0644: opening the store
    takes every other user's access away, below too."""
    home = tmp_path / "home"
    segment = home / "iris" / "3f1c-segment"
    segment.mkdir(parents=True)
    (segment / "data_level0.bin").write_bytes(b"vectors")
    for path, mode in ((home, 0o755), (home / "iris", 0o755), (segment, 0o755), (segment / "data_level0.bin", 0o644)):
        os.chmod(path, mode)
    monkeypatch.setenv("NYX_HOME", str(home))
    with usual_umask():
        Iris.open()
    assert open_to_others(home) == []
