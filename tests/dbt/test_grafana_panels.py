"""Every Grafana panel's SQL, with its macros expanded for a fixed time range, runs on a built database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.cli_helpers import query

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "nyx.json").read_text())
FROM, TO = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
PANELS = [p for p in DASHBOARD["panels"] if p.get("type") != "row"]
# Panels over the live work queue: built_db submits nothing to the queue, so here they only have to
# run; tests/dbt/test_collection_progress.py checks their rows on a database with queued sessions.
QUEUE_PANELS = {"Collection progress (work queue)"}


def expand(sql: str, terms: list[str]) -> str:
    """Grafana's PostgreSQL macros and the $term variable, as Grafana would expand them."""
    def group(match: re.Match, alias: bool) -> str:
        column, interval = (part.strip() for part in match.group(1).split(","))
        seconds = {"$__interval": 60, "1m": 60, "5m": 300, "1h": 3600}[interval]
        expr = f"to_timestamp(floor(extract(epoch from {column}) / {seconds}) * {seconds})"
        return f'{expr} as "time"' if alias else expr

    sql = re.sub(r"\$__timeGroupAlias\(([^)]*)\)", lambda m: group(m, True), sql)
    sql = re.sub(r"\$__timeGroup\(([^)]*)\)", lambda m: group(m, False), sql)
    sql = re.sub(r"\$__timeFilter\(([^)]*)\)", lambda m: f"{m.group(1)} between '{FROM}' and '{TO}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{FROM}'").replace("$__timeTo()", f"'{TO}'")
    quoted = ", ".join("'" + t.replace("'", "''") + "'" for t in terms)
    sql = sql.replace("$term", quoted)
    assert "$" not in sql, f"unexpanded Grafana macro or variable in: {sql}"
    return sql


def test_dashboard_has_the_panels_the_lab_needs():
    titles = " ".join(p["title"].lower() for p in PANELS)
    for needed in ("depth distribution", "mean depth over time", "echo-type", "sessions", "judge agreement",
                   "95% intervals", "p-values", "collection progress"):
        assert needed in titles
    assert all(p.get("targets") for p in PANELS)


def test_provisioning_reads_its_settings_from_the_environment():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "nyx.yml").read_text())
    ds = datasource["datasources"][0]
    assert ds["uid"] == "nyx-postgres" and "${PGHOST}" in ds["url"] and ds["user"].startswith("${")
    assert ds["secureJsonData"]["password"].startswith("${")
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "nyx.yml").read_text())
    assert provider["providers"][0]["type"] == "file"
    assert all(t["datasource"]["uid"] == "nyx-postgres" for p in PANELS for t in p["targets"])


def test_template_variable_query_runs(built_db):
    variable = DASHBOARD["templating"]["list"][0]
    rows = query(built_db["dsn"], variable["query"])
    assert {"Aufhebung", "Synthese"} <= {r["term"] for r in rows}


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_every_panel_query_runs_and_returns_rows(built_db, panel):
    terms = [r["term"] for r in query(built_db["dsn"], "select distinct term from marts.term_depth_distribution")]
    for target in panel["targets"]:
        sql = expand(target["rawSql"], terms)
        with psycopg.connect(built_db["dsn"]) as conn:
            cursor = conn.execute(sql)
            rows = cursor.fetchall()
            columns = [c.name for c in cursor.description]
        assert rows or panel["title"] in QUEUE_PANELS, f"panel {panel['title']!r} returned no rows"
        if target["format"] == "time_series":
            assert columns[0] == "time" and {"metric", "value"} <= set(columns)


def panel_rows(dsn, title_part: str) -> list[dict]:
    (panel,) = [p for p in PANELS if title_part in p["title"].lower()]
    terms = [r["term"] for r in query(dsn, "select distinct term from marts.term_depth_distribution")]
    return query(dsn, expand(panel["targets"][0]["rawSql"], terms))


def test_the_interval_panel_brackets_every_mean_and_share(built_db):
    rows = panel_rows(built_db["dsn"], "95% intervals")
    assert len(rows) == len(query(built_db["dsn"], "select 1 from marts.term_depth_distribution"))
    for r in rows:
        if r["runs"] > 1:
            assert r["ci95_low"] <= r["mean_depth"] <= r["ci95_high"]
        assert 0 <= r["share_3_ci95_low"] <= r["share_depth_3"] <= r["share_3_ci95_high"] <= 1


def test_the_p_value_panel_shows_the_marts_tests_adjusted(built_db):
    rows = panel_rows(built_db["dsn"], "p-values")
    marts = query(built_db["dsn"], "select * from marts.term_comparison")
    assert rows and len(rows) == len(marts)
    by_pair = {(m["term_a"], m["term_b"]): m for m in marts}
    for r in rows:
        m = by_pair[(r["term_a"], r["term_b"])]
        assert r["p_distribution"] == m["depth_distribution_p"] and r["p_mean_holm"] == m["depth_mean_p_holm"]
        assert r["p_distribution"] <= r["p_distribution_bh"] <= r["p_distribution_holm"] <= 1
