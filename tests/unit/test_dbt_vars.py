"""The constants of the dbt project have one definition, the vars of dbt_project.yml: the lint
context of .sqlfluff repeats some of them (sqlfluff's jinja templater does not read dbt vars), and
must repeat them exactly; Python reads them with collector.core.dbt_vars.dbt_var."""

import ast
import configparser
from pathlib import Path

import yaml

from collector.core.dbt_vars import dbt_var

REPO = Path(__file__).resolve().parents[2]


def _dbt_vars() -> dict:
    return yaml.safe_load((REPO / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def _sqlfluff_context() -> dict:
    config = configparser.ConfigParser()
    config.read(REPO / ".sqlfluff", encoding="utf-8")
    return dict(config["sqlfluff:templater:jinja:context"])


def test_sqlfluff_lints_with_the_values_of_the_dbt_vars():
    dbt, lint = _dbt_vars(), _sqlfluff_context()
    shared = sorted(set(dbt) & set(lint))
    assert {"z95", "z80", "echo_types", "settings_parts"} <= set(shared)
    for name in shared:
        assert ast.literal_eval(lint[name]) == dbt[name], f".sqlfluff {name} is not dbt_project.yml's"


def test_every_var_the_models_use_is_in_the_lint_context():
    used = {name for path in (REPO / "dbt_project").rglob("*.sql")
            for name in _dbt_vars() if f"var('{name}')" in path.read_text(encoding="utf-8")}
    assert used <= set(_sqlfluff_context())


def test_python_reads_the_dbt_vars():
    assert dbt_var("z95") == _dbt_vars()["z95"] == 1.959963984540054
    assert dbt_var("echo_types") == ["EXPANDS", "CONFIRMS", "CIRCULAR", "DIVERGENT", "COLLAPSE"]
