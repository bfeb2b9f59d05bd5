"""nyx-collect rejudge: a later judge over stored rounds, beside the original, and dbt showing both."""

from __future__ import annotations

import json

from collector.judge.registry import DEFAULT_JUDGE
from tests.cli_helpers import query, run_cli
from tests.dbt_helpers import run_dbt

TERM = "Pflicht"  # a shipped reference meaning: the re-judgement runs in reference mode
CONTINUING = ("EXPANDS", "CONFIRMS")


def _collect(capsys, dsn, model_dir, *extra):
    result = run_cli(capsys, TERM, "--runs", "10", "--batch-size", "5", "--max-new-tokens", "6", "--seed", "3",
                     "--model", str(model_dir), "--dsn", dsn, "--quiet", "--json", "--no-iris", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out.splitlines()[-1])["session_id"]


def _rounds(dsn, sid):
    return query(dsn, "select * from raw.probe_rounds where session_id = %s order by run_number, round", (sid,))


def test_rejudge_keeps_the_original_and_dbt_shows_both(capsys, db_dsn, tiny_model_dir, tmp_path):
    sid = _collect(capsys, db_dsn, tiny_model_dir, "--judge", "rules-1", "--stop-early")
    before = _rounds(db_dsn, sid)
    runs_before = query(db_dsn, "select * from raw.variance_probe_runs where session_id = %s order by run_number",
                        (sid,))

    result = run_cli(capsys, "rejudge", sid[:8], "--dsn", db_dsn, "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary == {"session_id": sid, "term": TERM, "judge_version": DEFAULT_JUDGE, "judge_mode": "reference",
                       "rounds_judged": len(before)}

    # the original judgement is untouched
    assert _rounds(db_dsn, sid) == before
    assert query(db_dsn, "select * from raw.variance_probe_runs where session_id = %s order by run_number",
                 (sid,)) == runs_before
    later = query(db_dsn, "select * from raw.round_judgements where session_id = %s order by run_number, round",
                  (sid,))
    assert [(r["run_number"], r["round"]) for r in later] == [(r["run_number"], r["round"]) for r in before]
    assert {r["judge_version"] for r in later} == {DEFAULT_JUDGE}
    assert all(r["sim_ref"] is not None for r in later)
    settings = query(db_dsn, "select * from raw.session_judgements where session_id = %s", (sid,))
    assert len(settings) == 1 and settings[0]["judge_mode"] == "reference" and settings[0]["glossary_id"]

    # the same judge again is refused, and nothing changes
    again = run_cli(capsys, "rejudge", sid, "--dsn", db_dsn)
    assert again.code == 2 and "already judged by" in again.err
    assert len(query(db_dsn, "select * from raw.round_judgements where session_id = %s", (sid,))) == len(later)

    # a human labels every round COLLAPSE: each judge version is measured against the same labels
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"session_id": sid, "run_number": r["run_number"], "round": r["round"],
                                          "label": "COLLAPSE", "labeller": "ann"}) + "\n" for r in before))
    assert run_cli(capsys, "label", "import", str(labels), "--dsn", db_dsn).code == 0

    build = run_dbt(db_dsn, "build")
    assert build.returncode == 0, build.stdout[-5000:]
    agreement = {r["judge_version"]: r for r in query(db_dsn, "select * from marts.judge_agreement")}
    assert set(agreement) == {"rules-1", DEFAULT_JUDGE}
    for version, verdicts in (("rules-1", before), (DEFAULT_JUDGE, later)):
        assert agreement[version]["labels"] == len(before)
        assert agreement[version]["agreed"] == sum(r["echo_type"] == "COLLAPSE" for r in verdicts)
        assert agreement[version]["rounds_judged"] == len(verdicts)
    rows = {r["judge_version"]: r for r in query(db_dsn, "select * from marts.session_judgements "
                                                          "where session_id = %s", (sid,))}
    assert set(rows) == {"rules-1", DEFAULT_JUDGE}
    original, newer = rows["rules-1"], rows[DEFAULT_JUDGE]
    assert original["is_original"] and not original["is_newest"] and not original["depth_is_lower_bound"]
    assert newer["is_newest"] and not newer["is_original"] and newer["depth_is_lower_bound"]  # stop-early session
    # each row equals an independent computation from the raw rows it comes from
    assert [original[f"depth_{d}"] for d in range(4)] == [sum(r["depth"] == d for r in runs_before) for d in range(4)]
    by_run: dict[int, list[str]] = {}
    for r in later:
        by_run.setdefault(r["run_number"], []).append(r["echo_type"])
    depths = [next((i for i, t in enumerate(types) if t not in CONTINUING), len(types)) for types in by_run.values()]
    assert [newer[f"depth_{d}"] for d in range(4)] == [depths.count(d) for d in range(4)]
    assert abs(newer["depth_mean"] - sum(depths) / len(depths)) < 1e-12
    assert newer["rounds_total"] == len(later)
    assert newer["n_divergent"] == sum(r["echo_type"] == "DIVERGENT" for r in later)

    shown = run_cli(capsys, "stats", sid, "--dsn", db_dsn)
    assert shown.code == 0, shown.err
    assert "judge     rules-1, frame (no reference meaning: weaker), stopped at the first break" in shown.out
    assert f"rejudged {DEFAULT_JUDGE} (reference): depth mean {newer['depth_mean']:.3f}" in shown.out
    assert "newest" in shown.out and "lower bound" in shown.out


def test_rejudge_refuses_what_it_cannot_do(capsys, db_dsn, tiny_model_dir):
    sid = _collect(capsys, db_dsn, tiny_model_dir)  # collected with the default judge
    cases = [
        (["rejudge", sid], "was collected with judge"),
        (["rejudge", sid, "--judge", "rules-1"], "needs the probe model"),
        (["rejudge", sid, "--judge", "ref-9"], "unknown judge"),
        (["rejudge"], "name the sessions"),
        (["rejudge", sid, "--all"], "not both"),
        (["rejudge", "ffffffff"], "no session"),
    ]
    for argv, message in cases:
        result = run_cli(capsys, *argv, "--dsn", db_dsn)
        assert result.code != 0 and message in result.err, (argv, result.err)
        errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and message in errors[0], (argv, result.err)
    assert query(db_dsn, "select count(*) as n from raw.round_judgements")[0]["n"] == 0
    nothing = run_cli(capsys, "rejudge", "--all", "--dsn", db_dsn)
    assert nothing.code == 0 and "already judged" in nothing.err
