"""read_mart reads only the marts dbt builds: its list is the project's mart models, no more, no less
(a new mart is its model, its YAML and its name here, and this test says when the name is missing)."""

from pathlib import Path

from collector.read.marts import MARTS

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"


def test_the_reader_knows_every_mart_model_and_nothing_else():
    models = {p.stem for p in MODELS.glob("*.sql")}
    assert len(models) >= 13
    assert MARTS == models


def test_every_mart_model_has_its_yaml():
    assert {p.stem for p in MODELS.glob("*.yml")} >= {p.stem for p in MODELS.glob("*.sql")}
