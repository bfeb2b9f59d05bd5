"""The dbt project's vars (``dbt_project.yml``), for Python code that must use the same constants
as the models (the z quantile of the intervals, for one)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml


@functools.cache
def dbt_var(name: str) -> Any:
    """The value of ``vars: name`` in dbt_project.yml (at the repository root: an editable install)."""
    project = Path(__file__).resolve().parents[2] / "dbt_project.yml"
    return yaml.safe_load(project.read_text(encoding="utf-8"))["vars"][name]
