"""The dbt project's ``vars`` (``dbt_project.yml``), read by Python where it must agree with the
marts (the parts of the settings key, say), so that the project defines them once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

import collector

__all__ = ["dbt_project_file", "dbt_var"]


def dbt_project_file() -> Path:
    """``collector/dbt_project.yml`` in an installed wheel (force-included), else the repository's."""
    packaged = Path(collector.__file__).parent / "dbt_project.yml"
    if packaged.is_file():
        return packaged
    return Path(collector.__file__).resolve().parent.parent / "dbt_project.yml"


@functools.cache
def _project_vars() -> dict[str, Any]:
    path = dbt_project_file()
    try:
        project = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuntimeError(f"cannot read the dbt project {path}: {exc.strerror}") from exc
    return project.get("vars") or {}


def dbt_var(name: str) -> Any:
    """The value of the dbt var ``name`` in dbt_project.yml; KeyError if the project lacks it."""
    return _project_vars()[name]
