"""nyx-collect stats and analyze read the marts of a built database."""

from __future__ import annotations

import json
import re

import psycopg

from tests.cli_helpers import query, run_cli
from tests.conftest_dbt import insert_synthetic_session


def test_stats_shows_the_mart_row(capsys, built_db):
    dsn, sid = built_db["dsn"], str(built_db["synthetic_session"])
    row = query(dsn, "select * from marts.session_stats where session_id = %s", (sid,))[0]
    result = run_cli(capsys, "stats", sid, "--dsn", dsn)
    assert result.code == 0, result.err
    assert f"runs {row['runs_stored']} of {row['runs_requested']}" in result.out
    for d in range(4):
        interval = rf"\[{row[f'share_depth_{d}_ci95_low']:.3f}, {row[f'share_depth_{d}_ci95_high']:.3f}\]"
        line = rf"^\s*{d}\s+{row[f'depth_{d}']}\s+{row[f'share_depth_{d}']:.3f}\s+{interval}\s+█*·*\s*$"
        assert re.search(line, result.out, re.MULTILINE), line
    assert f"mean {row['depth_mean']:.3f}" in result.out
    assert f"[{row['depth_ci95_low']:.3f}, {row['depth_ci95_high']:.3f}]" in result.out


def test_stats_json_equals_the_mart_row_and_prefix_resolves(capsys, built_db):
    dsn, sid = built_db["dsn"], str(built_db["synthetic_session"])
    result = run_cli(capsys, "stats", sid[:8], "--dsn", dsn, "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    row = query(dsn, "select * from marts.session_stats where session_id = %s", (sid,))[0]
    assert shown["session_id"] == sid
    for key in ("runs_stored", "depth_0", "depth_3", "depth_mean", "depth_ci95_low", "most_common_echo_type"):
        assert shown[key] == row[key]


def test_stats_latest_and_png(capsys, built_db, tmp_path):
    png = tmp_path / "depth.png"
    result = run_cli(capsys, "stats", "latest", "--dsn", built_db["dsn"], "--png", str(png))
    assert result.code == 0, result.err
    assert str(built_db["hot_session"]) in result.out  # inserted last
    _assert_chart(png)


def _assert_chart(png) -> None:
    """A PNG of plots' fixed size whose right-hand panel holds a heat map (the synthetic sessions'
    chains continue, so marts.echo_type_transitions has rows for every term here)."""
    from matplotlib.image import imread

    from collector.face.plots import DPI, FIGSIZE

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(str(png))
    assert image.shape == (int(FIGSIZE[1] * DPI), int(FIGSIZE[0] * DPI), 4)
    right = image[:, int(image.shape[1] * 0.6):, :3]
    blue = (right[..., 2] - right[..., 0]) > 0.3  # the Blues colour map's cells
    assert blue.sum() > 2000


def test_stats_of_unknown_or_malformed_session(capsys, built_db):
    result = run_cli(capsys, "stats", "ffffffff-ffff-4fff-8fff-ffffffffffff", "--dsn", built_db["dsn"])
    assert result.code == 5 and result.err.count("\n") == 1 and "nyx-collect sessions" in result.err
    result = run_cli(capsys, "stats", "x'; drop table raw.probe_sessions; --", "--dsn", built_db["dsn"])
    assert result.code == 2 and result.err.startswith("Error: not a session id")


def test_stats_without_marts_says_to_run_dbt_build(capsys, db_dsn, tiny_model_dir):
    collected = run_cli(capsys, "Wille", "--runs", "2", "--max-new-tokens", "3", "--model", str(tiny_model_dir),
                        "--dsn", db_dsn, "--quiet", "--json")
    assert collected.code == 0, collected.err
    result = run_cli(capsys, "stats", "latest", "--dsn", db_dsn)
    assert result.code == 6
    assert result.err.strip() == "Error: the dbt marts are not built in this database: run `dbt build` (see README)"
    result = run_cli(capsys, "analyze", "Wille", "--dsn", db_dsn)
    assert result.code == 6 and "dbt build" in result.err


def test_analyze_agrees_with_term_comparison(capsys, built_db):
    dsn = built_db["dsn"]
    result = run_cli(capsys, "analyze", "Aufhebung", "Wille; 'x'", "--dsn", dsn, "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    expected = query(dsn, "select * from marts.term_comparison where term_a = 'Aufhebung' and term_b = %s",
                     ("Wille; 'x'",))
    assert len(shown["comparisons"]) == 1 == len(expected)
    for column in ("js_divergence", "depth_mean_p", "depth_distribution_p_holm", "js_divergence_ci95_high"):
        assert shown["comparisons"][0][column] == expected[0][column]
    assert {d["term"] for d in shown["distributions"]} == {"Aufhebung", "Wille; 'x'"}
    text = run_cli(capsys, "analyze", "Aufhebung", "Wille; 'x'", "--dsn", dsn)
    assert text.code == 0 and "Pairs of terms under the same settings" in text.out
    assert f"{expected[0]['js_divergence']:.3f}" in text.out
    p = expected[0]["depth_distribution_p"]
    assert (f"{p:.3f}" if p >= 0.001 else f"{p:.1e}") in text.out and "Holm" in text.out
    low, high = expected[0]["depth_mean_diff_ci95_low"], expected[0]["depth_mean_diff_ci95_high"]
    assert f"[{low:.3f}, {high:.3f}]" in text.out


def test_analyze_says_when_terms_were_probed_under_different_settings(capsys, built_db):
    # Synthese was only probed under synthetic settings, which no session of Wille shares
    result = run_cli(capsys, "analyze", "Synthese", "Wille; 'x'", "--dsn", built_db["dsn"], "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["comparisons"] == [] and shown["unpaired"] == [["Synthese", "Wille; 'x'"]]
    text = run_cli(capsys, "analyze", "Synthese", "Wille; 'x'", "--dsn", built_db["dsn"])
    assert "note: Synthese and Wille; 'x' share no settings" in " ".join(text.out.split())


def test_analyze_by_temperature_compares_one_terms_settings(capsys, db_dsn):
    from tests.dbt_helpers import run_dbt

    cool = [0] * 30 + [1] * 20 + [3] * 10
    hot = [0] * 10 + [1] * 10 + [2] * 10 + [3] * 30
    insert_synthetic_session(db_dsn, "Wille", "m", 0.8, len(cool), depths=cool)
    insert_synthetic_session(db_dsn, "Wille", "m", 1.5, len(hot), depths=hot)
    build = run_dbt(db_dsn, "run")
    assert build.returncode == 0, build.stdout[-3000:]
    result = run_cli(capsys, "analyze", "Wille", "--by", "temperature", "--dsn", db_dsn, "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert len(shown["distributions"]) == 2 and shown["by"] == "temperature"
    (pair,) = shown["settings_comparisons"]
    assert pair["differs_in"] == ["temperature"] and pair["depth_mean_p"] < 0.001
    text = run_cli(capsys, "analyze", "Wille", "--by", "temperature", "--dsn", db_dsn)
    assert "Each term by temperature" in text.out and "0.8" in text.out and "1.5" in text.out
    # only pools that differ in that part alone are compared
    result = run_cli(capsys, "analyze", "Wille", "--by", "top-p", "--dsn", db_dsn, "--json")
    assert result.code == 0 and json.loads(result.out)["settings_comparisons"] == []
    result = run_cli(capsys, "analyze", "Wille", "--by", "seed", "--dsn", db_dsn)
    assert result.code == 2 and result.err.startswith("Error: --by takes one of") and result.err.count("\n") == 1


def test_analyze_unknown_term(capsys, built_db):
    result = run_cli(capsys, "analyze", "Aufhebung", "Nichts", "--dsn", built_db["dsn"])
    assert result.code == 6 and "'Nichts'" in result.err and "dbt build" in result.err


def _copy_session(dsn: str, source, new_id: str) -> None:
    """A second session row like ``source`` under ``new_id`` (no runs)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("create temp table copied as select * from raw.probe_sessions where session_id = %s", (source,))
        conn.execute("update copied set session_id = %s", (new_id,))
        conn.execute("insert into raw.probe_sessions select * from copied")


def test_ambiguous_prefix_and_prefix_without_marts(capsys, db_dsn):
    source = insert_synthetic_session(db_dsn, "Wille", "tiny", 0.8, 3)
    _copy_session(db_dsn, source, "abcd1234-0000-4000-8000-000000000001")
    _copy_session(db_dsn, source, "abcd5678-0000-4000-8000-000000000002")
    result = run_cli(capsys, "stats", "abcd", "--dsn", db_dsn)
    assert result.code == 2 and result.out == ""
    assert result.err == "Error: session prefix abcd is ambiguous: give more characters\n"
    result = run_cli(capsys, "stats", "ABCD5", "--dsn", db_dsn)  # unique, case-insensitive; no marts here
    assert result.code == 6 and result.err.count("\n") == 1 and "dbt build" in result.err


def test_session_newer_than_the_marts_says_to_run_dbt_build(capsys, built_db):
    dsn = built_db["dsn"]
    fresh = insert_synthetic_session(dsn, "Aufhebung", built_db["model_name"], 0.5, 3)
    try:
        result = run_cli(capsys, "stats", str(fresh), "--dsn", dsn)
    finally:
        query(dsn, "delete from raw.probe_sessions where session_id = %s returning session_id", (fresh,))
    assert result.code == 6 and result.out == ""
    assert result.err == f"Error: session {fresh} is not in the marts yet: run `dbt build` to refresh them\n"


def test_stats_text_shows_echo_types_chain_and_throughput(capsys, built_db):
    dsn, sid = built_db["dsn"], str(built_db["synthetic_session"])
    row = query(dsn, "select * from marts.session_stats where session_id = %s", (sid,))[0]
    result = run_cli(capsys, "stats", sid, "--dsn", dsn)
    assert result.code == 0, result.err
    assert f"term      {row['term']}" in result.out
    assert f"{row['most_common_echo_type']} {row['n_' + row['most_common_echo_type'].lower()]}" in result.out
    assert f"length mean {row['chain_length_mean']:.3f}" in result.out
    rate = "-" if row["runs_per_second"] is None else f"{row['runs_per_second']:.2f}"
    assert f"{rate} runs/s" in result.out


def test_analyze_png_and_model_filter(capsys, built_db, tmp_path):
    dsn, png = built_db["dsn"], tmp_path / "terms.png"
    result = run_cli(capsys, "analyze", "Aufhebung", "Wille; 'x'", "Synthese", "--model", built_db["model_name"],
                     "--dsn", dsn, "--png", str(png), "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    # four pools (Aufhebung also at temperature 1.2, under synthetic settings); one pair shares settings
    assert len(shown["distributions"]) == 4 and len(shown["comparisons"]) == 1
    assert {s["term"] for s in shown["sessions"]} == {"Aufhebung", "Wille; 'x'", "Synthese"}
    _assert_chart(png)
    result = run_cli(capsys, "analyze", "Aufhebung", "--model", "no-such-model", "--dsn", dsn)
    assert result.code == 6 and result.err.count("\n") == 1 and "'no-such-model'" in result.err
