"""A database with collected and synthetic sessions on which the real ``dbt build`` has run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from collector.judge.registry import DEFAULT_JUDGE
from collector.judge.validation import LABELS
from tests.cli_helpers import query, run_cli
from tests.conftest import _unique, create_database, drop_database
from tests.dbt_helpers import run_dbt

SYNTHETIC_TERM = "Synthese"


def insert_synthetic_session(dsn: str, term: str, model_name: str, temperature: float, runs: int,
                             judge: str = "rules-1", depths: list[int] | None = None,
                             started_at: str | None = None, session_id: uuid.UUID | None = None,
                             finished_at: str | None = None) -> uuid.UUID:
    """A completed session whose runs cycle through depths 0..3 (the tiny model rarely goes deep), or
    have the given ``depths`` (then ``runs`` must be their number).

    Every row satisfies the raw schema's CHECK constraints: runs of depth < 3 stop on a
    non-continuing type, runs of depth 3 continue through all three rounds. The session says it was
    judged by ``judge`` against the term's newest glossary entry (frame mode when it has none).
    """
    session_id = session_id or uuid.uuid4()
    stoppers = ["CIRCULAR", "DIVERGENT", "COLLAPSE"]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """insert into raw.probe_sessions (session_id, term, model_name, model_revision, device, dtype,
                   prompt_template, temperature, top_p, top_k, max_rounds, max_new_tokens, seed, batch_size,
                   runs_requested, status, started_at, finished_at, collector_version, judge_version,
                   hostname, pid, judge_mode, glossary_id, encoder)
               select %s, %s, %s, 'synthetic', 'cpu', 'float32', 'The word "{term}" means', %s, 0.95, 50, 3,
                      8, 7, 8, %s, 'completed', coalesce(%s::timestamptz, now()), coalesce(%s::timestamptz, now()), 'test',
                      %s, 'test', 1,
                      case when g.id is null then 'frame' else 'reference' end, g.id, 'synthetic'
               from (select 1) as one
               left join lateral (select id from raw.glossary where term = %s order by version desc limit 1) as g
                   on true""",
            (session_id, term, model_name, temperature, runs, started_at, finished_at, judge, term),
        )
        assert depths is None or len(depths) == runs
        with conn.cursor() as cur:
            for n in range(1, runs + 1):
                depth = depths[n - 1] if depths is not None else (n * 7) % 4 if n % 5 else 3
                kept = ["EXPANDS" if (n + i) % 3 else "CONFIRMS" for i in range(depth)]
                types = kept if depth == 3 else kept + [stoppers[n % 3]]
                chain = [term] + [f"text {n}.{i}" for i in range(depth)]
                cur.execute(
                    """insert into raw.variance_probe_runs (session_id, term, run_number, depth, rounds,
                           echo_types, chain, model_name, temperature, max_rounds, max_new_tokens, seed)
                       values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 3, 8, %s)""",
                    (session_id, term, n, depth, len(types), types, chain, model_name, temperature, n),
                )
                for number, echo_type in enumerate(types, start=1):  # a run has its rounds (migration 0009)
                    cur.execute(
                        """insert into raw.probe_rounds (session_id, run_number, round, prompt, completion,
                               echo_type, tokens_generated, finish_reason, n_words, distinct_ratio,
                               nonletter_ratio, content_words, new_stems, novelty)
                           values (%s, %s, %s, 'prompt', %s, %s, 3, 'length', 3, 1, 0, 2, 2, 0.5)""",
                        (session_id, n, number, f"text {n}.{number - 1}", echo_type),
                    )
    return session_id


def write_labels(dsn: str, path: Path) -> Path:
    """Labels of two readers for rounds of the collected Aufhebung session, as `label export`
    writes them: ann labels 18 rounds (agreeing with the judge on two in three), bob 9 of the same
    and 3 others (agreeing with ann on most); the exact mix is whatever the tiny model produced."""
    rounds = query(dsn, """select r.session_id, r.run_number, r.round, r.echo_type, s.term
                           from raw.probe_rounds as r join raw.probe_sessions as s using (session_id)
                           where s.term = 'Aufhebung' order by r.session_id, r.run_number, r.round limit 21""")
    assert len(rounds) == 21
    lines = []
    for i, r in enumerate(rounds):
        key = {"session_id": str(r["session_id"]), "run_number": r["run_number"], "round": r["round"], "term": r["term"]}
        other = LABELS[(LABELS.index(r["echo_type"]) + 1 + i) % len(LABELS)]
        ann = r["echo_type"] if i % 3 else other
        if i < 18:
            lines.append({**key, "label": ann, "labeller": "ann"})
        if i % 2 == 0 or i >= 18:
            lines.append({**key, "label": ann if i % 4 else other, "labeller": "bob", "note": f"item {i}"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def built_db(pg_dsn: str, template_db: str, tiny_model_dir, tmp_path_factory) -> Iterator[dict]:
    """DSN and facts of a database holding two tiny-model sessions and synthetic ones, after dbt build."""
    name = _unique("dbt")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        sessions = {}
        # every term of this database has a reference meaning (Aufhebung's is shipped), so all its
        # sessions are judged alike and pool and pair in the marts
        for term, meaning in (("Wille; 'x'", "The will: the capacity to choose and to act on purposes."),
                              (SYNTHETIC_TERM, "Synthesis: the combination of parts or ideas into a whole.")):
            added = run_cli(None, "glossary", "add", term, meaning, "--dsn", dsn)
            assert added.code == 0, added.err
        for term in ("Aufhebung", "Wille; 'x'"):
            result = run_cli(None, term, "--runs", "30", "--batch-size", "8", "--max-new-tokens", "5",
                             "--seed", "1", "--model", str(tiny_model_dir), "--dsn", dsn, "--quiet", "--json")
            assert result.code == 0, result.err
            sessions[term] = result.out
        model_name = str(tiny_model_dir)
        synthetic = insert_synthetic_session(dsn, SYNTHETIC_TERM, model_name, 0.8, 40, DEFAULT_JUDGE)
        hot = insert_synthetic_session(dsn, "Aufhebung", model_name, 1.2, 24, DEFAULT_JUDGE)
        labels = write_labels(dsn, tmp_path_factory.mktemp("labels") / "labels.jsonl")
        imported = run_cli(None, "label", "import", str(labels), "--dsn", dsn)
        assert imported.code == 0, imported.err
        build = run_dbt(dsn, "build")
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
        yield {"dsn": dsn, "model_name": model_name, "synthetic_session": synthetic, "hot_session": hot,
               "build_output": build.stdout}
    finally:
        drop_database(pg_dsn, name)
