"""docs/architecture.md's module table is the real imports (tests/architecture.py renders it with grimp)."""

from __future__ import annotations

from tests import architecture


def test_the_documented_table_is_the_imports():
    documented = architecture.documented(architecture.DOC.read_text(encoding="utf-8"))
    assert documented, f"{architecture.DOC} lacks the generated table's markers"
    assert documented == architecture.render(), (
        "docs/architecture.md's module table differs from the imports: regenerate it with "
        "`python -m tests.architecture --write` (and say in the prose what changed)")


def test_every_room_of_the_layers_contract_is_in_the_table():
    table = architecture.render()
    for room in ("core", "model", "probe", "judge", "iris", "db", "write", "face"):
        assert f"| `{room}/" in table, room
