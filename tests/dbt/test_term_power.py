"""marts.term_power against statsmodels (NormalIndPower.solve_power), at a small and a large depth
variance, and `nyx-collect power` reading it."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator

import pytest
from statsmodels.stats.power import NormalIndPower

from collector.judge.registry import DEFAULT_JUDGE
from tests.cli_helpers import query, run_cli
from tests.conftest import _unique, create_database, drop_database
from tests.conftest_dbt import insert_synthetic_session
from tests.dbt_helpers import run_dbt

MODEL = "synthetic-model"
DEPTHS = {
    "Pflicht": [3] * 199 + [2],  # nearly always depth 3: variance 0.005
    "Wille": [0, 1, 2, 3] * 50,  # uniform: variance 1.256
    "Vernunft": [3] * 60,  # no variance: nothing to size from
}


@pytest.fixture(scope="module")
def power_db(pg_dsn: str, template_db: str) -> Iterator[str]:
    name = _unique("power")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        for term, depths in DEPTHS.items():
            insert_synthetic_session(dsn, term, MODEL, 0.8, len(depths), DEFAULT_JUDGE, depths=depths)
        build = run_dbt(dsn, "build", "--select", "+term_power", "--indirect-selection", "cautious")
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
        assert "term_power_runs_needed_against_statsmodels" in build.stdout
        yield dsn
    finally:
        drop_database(pg_dsn, name)


def test_runs_needed_equal_statsmodels(power_db):
    rows = query(power_db, "select * from marts.term_power order by term, difference")
    assert {r["difference"] for r in rows} == {0.05, 0.1, 0.2, 0.3, 0.5}
    checked = set()
    for row in rows:
        depths = DEPTHS[row["term"]]
        variance = statistics.variance(depths)
        assert row["runs"] == len(depths) and row["depth_variance"] == pytest.approx(variance)
        if variance == 0:
            assert row["runs_needed"] is None and row["detectable_difference"] is None
            continue
        effect = row["difference"] / math.sqrt(variance)
        if (2.8 / effect) ** 2 < 10:  # statsmodels' root finder does not converge at a few runs
            continue
        n = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0,
                                         alternative="two-sided")
        # statsmodels also counts the far tail (about 1e-6 of power): the same n to 1e-4
        assert row["runs_needed_exact"] == pytest.approx(n, rel=1e-4)
        assert row["runs_needed"] == math.ceil(n)
        assert row["runs_to_go"] == max(math.ceil(n) - len(depths), 0)
        power_now = NormalIndPower().power(effect_size=row["detectable_difference"] / math.sqrt(variance),
                                           nobs1=len(depths), alpha=0.05, ratio=1.0)
        assert power_now == pytest.approx(0.8, abs=1e-4)
        checked.add((row["term"], row["runs_needed"] > 1000))
    # a small variance (tens of runs) and a large one (thousands) were both checked
    assert ("Pflicht", False) in checked and ("Wille", True) in checked


def test_power_command_prints_the_mart(capsys, power_db):
    result = run_cli(capsys, "power", "Wille", "Pflicht", "--difference", "0.1", "--difference", "0.05",
                     "--dsn", power_db)
    assert result.code == 0, result.err
    need = {r["term"]: r["runs_needed"] for r in query(
        power_db, "select term, runs_needed from marts.term_power where difference = 0.1")}
    assert "d=0.05" in result.out and "d=0.1" in result.out and "d=0.2" not in result.out
    wille = next(line for line in result.out.splitlines() if line.startswith("Wille"))
    assert f" {need['Wille']}" in wille
    shown = run_cli(capsys, "power", "Vernunft", "--dsn", power_db, "--json")
    rows = [json.loads(line) for line in shown.out.splitlines()]
    assert len(rows) == 5 and all(r["runs_needed"] is None for r in rows)


def test_power_command_refuses_what_the_mart_lacks(capsys, power_db):
    result = run_cli(capsys, "power", "Wille", "--difference", "0.15", "--dsn", power_db)
    assert result.code == 2 and "not 0.15" in result.err and "power_differences" in result.err
    result = run_cli(capsys, "power", "Wille", "--difference", "nan", "--dsn", power_db)
    assert result.code == 2 and "--difference must be above 0" in result.err
    result = run_cli(capsys, "power", "Geworfenheit", "--dsn", power_db)
    assert result.code == 6 and result.err.count("\n") == 1
