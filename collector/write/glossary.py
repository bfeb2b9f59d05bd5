"""Transitional: the glossary's entries moved to :mod:`collector.core.glossary`, below the store that
stores them and the judge that reads them. collector/runner.py, collector/db/store.py and
collector/judge/fit3.py import them from here until their splits import from there; remove then
(with the ``ignore_imports`` lines of the layers contract in pyproject.toml that name this module)."""

from collector.core.glossary import (SHIPPED_SOURCE, GlossaryEntry, check_glosses, make_entry,  # noqa: F401
                                     read_glossary_file, shipped_entries)
