"""Migration 0017 holds procrastinate's own schema of the pinned version, byte for byte."""

import re
from importlib import metadata
from pathlib import Path

from procrastinate.schema import SchemaManager

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "0017_queue.sql"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _block() -> tuple[str, str]:
    text = MIGRATION.read_text(encoding="utf-8")
    found = re.search(r"-- BEGIN PROCRASTINATE (\S+)\n(.*)-- END PROCRASTINATE \1\n", text, re.S)
    assert found, "0017_queue.sql lost its procrastinate markers"
    return found.group(1), found.group(2)


def test_the_queue_migration_is_procrastinates_schema_of_the_installed_version():
    version, block = _block()
    assert version == metadata.version("procrastinate")
    assert block == SchemaManager.get_schema()


def test_pyproject_pins_the_version_the_migration_holds():
    version, _ = _block()
    assert f'"procrastinate=={version}"' in PYPROJECT.read_text(encoding="utf-8")
