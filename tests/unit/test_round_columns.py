"""The round columns are declared once; the row of a round follows RoundRecord's fields."""

from collector.db.store import ROUND_COLUMNS
from collector.judge.judge import FEATURE_NAMES
from collector.core.records import RoundRecord


def test_round_columns_are_the_run_key_then_the_round_record_fields():
    names = [name for name, _type in ROUND_COLUMNS]
    assert names[:2] == ["session_id", "run_number"]
    assert names[2:] == list(RoundRecord.model_fields)
    assert set(FEATURE_NAMES) <= set(names)
