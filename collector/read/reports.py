"""Reports over the dbt marts: a session's stats, the comparison of terms (optionally within one
settings part), the power table, the echo-type transitions, and the list of sessions. The
statistics are the marts'; nothing here recomputes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.core.errors import InputError, MartsNotBuilt
from collector.core.params import check_limit, validate_term
from collector.core.dbt_vars import dbt_var
from collector.db.connect import connect
from collector.read.marts import read_mart

__all__ = ["BY_PARTS", "SETTINGS_KEY_PARTS", "SessionReport", "TermAnalysis", "analyze_terms", "echo_transitions",
           "list_sessions", "power_table", "session_report", "settings_part"]


def list_sessions(*, limit: int = 20, dsn: str | None = None) -> list[dict]:
    """The newest sessions, each row with its ``state`` (a running one whose collector is gone: 'stale')."""
    from collector.db.liveness import session_state

    check_limit("--limit", limit)
    with connect(dsn) as store:
        store.migrate()
        rows = store.list_sessions(limit=limit)
        progress = _queue_progress(store, [r["session_id"] for r in rows if r.get("queued")])
    return [{**row, "state": session_state(row), "queue": progress.get(row["session_id"])} for row in rows]


_QUEUE_COLUMNS = ("session_id", "shards_total", "shards_waiting", "shards_running", "shards_done", "shards_failed",
                  "workers", "runs_per_second")


def _queue_progress(store, session_ids: list) -> dict:
    """The queue's view of these queued sessions (marts.collection_progress, a live view), by id;
    {} where dbt never built it (the list still shows their state)."""
    if not session_ids:
        return {}
    try:
        rows = read_mart(store, "collection_progress", where={"session_id": session_ids}, columns=_QUEUE_COLUMNS)
    except MartsNotBuilt:
        return {}
    return {r["session_id"]: {k: v for k, v in r.items() if k != "session_id"} for r in rows}


#: How many of a pool's most frequent echo-type sequences a session report shows.
TOP_PATTERNS = 5


@dataclass(frozen=True)
class SessionReport:
    stats: dict
    patterns: list[dict]
    judgements: list[dict]  # marts.session_judgements: the original judgement and every later one


def session_report(ref: str, *, dsn: str | None = None) -> SessionReport:
    """A session's row of marts.session_stats and its term's most frequent echo-type sequences."""
    with connect(dsn) as store:
        session_id = store.resolve_session(ref)
        rows = read_mart(store, "session_stats", where={"session_id": session_id})
        if not rows:
            raise MartsNotBuilt(f"session {session_id} is not in the marts yet: run `dbt build` to refresh them")
        row = rows[0]
        patterns = read_mart(store, "chain_patterns", where={"pool_key": row["pool_key"]}, order_by=["pattern_rank"],
                             columns=["echo_pattern", "runs", "share", "pattern_rank"], limit=TOP_PATTERNS)
        judgements = read_mart(store, "session_judgements", where={"session_id": row["session_id"]},
                               order_by=["is_original desc", "judged_at", "judge_version"])
        return SessionReport(row, patterns, judgements)


def power_table(terms: list[str], *, differences: list[float] | None = None, model: str | None = None,
                dsn: str | None = None) -> list[dict]:
    """Rows of marts.term_power for ``terms`` (all its differences, or only ``differences``).
    InputError for a difference that is not positive and finite or that the mart was not built for;
    MartsNotBuilt for a term it lacks."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    for difference in differences or []:
        if not 0 < difference <= 3:  # also refuses NaN
            raise InputError(f"--difference must be above 0 and at most 3, got {difference}")
    with connect(dsn) as store:
        if differences:
            built = [r["difference"] for r in read_mart(store, "term_power", columns=["difference"], distinct=True,
                                                        order_by=["difference"])]
            missing = [d for d in differences if d not in built]
            if missing:
                raise InputError(f"marts.term_power holds the differences {', '.join(f'{d:g}' for d in built)}, "
                                 f"not {', '.join(f'{d:g}' for d in missing)}: add them to the dbt var "
                                 "power_differences (dbt_project.yml) and run `dbt build`")
        rows = read_mart(store, "term_power",
                         where={"term": terms, "model_name": model,
                                "difference": list(dict.fromkeys(differences)) if differences else None},
                         order_by=["term", "model_name", "settings_key", "difference"])
    _require_terms(terms, rows, model, "marts.term_power")
    return rows


#: The parts of a session's settings key, as dbt fingerprints them (dbt var settings_parts, read
#: from dbt_project.yml; .sqlfluff repeats them for the linter, tests/unit/test_settings_parts.py
#: keeps the two equal).
SETTINGS_KEY_PARTS: tuple[str, ...] = tuple(dbt_var("settings_parts"))
#: What `analyze TERM --by PART` may compare: the settings key's parts and the reference meaning's version.
BY_PARTS = (*SETTINGS_KEY_PARTS, "reference_version")
BY_ALIASES = {"model": "model_name", "revision": "model_revision", "prompt": "prompt_template",
              "judge": "judge_version", "reference": "reference_version"}


def settings_part(name: str) -> str:
    """The settings part ``--by`` names (``top-p`` and ``top_p`` alike, a few short aliases)."""
    part = name.strip().lower().replace("-", "_")
    part = BY_ALIASES.get(part, part)
    if part not in BY_PARTS:
        raise InputError(f"--by takes one of {', '.join(BY_PARTS)}, got {name!r}")
    return part


@dataclass(frozen=True)
class TermAnalysis:
    distributions: list[dict]  # marts.term_depth_distribution: one row per pool (term, settings key)
    comparisons: list[dict]  # marts.term_comparison: pairs of terms under one settings key
    sessions: list[dict]  # marts.session_comparison: every session against its pool's baseline
    agreement: list[dict]  # marts.judge_agreement: the judge against each labeller, where labels exist
    by: str | None = None  # --by: the settings part compared within each term
    settings_pairs: list[dict] = field(default_factory=list)  # marts.settings_comparison, differing in `by` alone
    unpaired: list[tuple[str, str]] = field(default_factory=list)  # terms with no settings key in common


def analyze_terms(terms: list[str], *, model: str | None = None, by: str | None = None,
                  dsn: str | None = None) -> TermAnalysis:
    """The marts' depth distributions and comparisons of ``terms``; with ``by``, each term's pools
    that differ in that settings part alone. MartsNotBuilt for a term the marts lack."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    part = settings_part(by) if by is not None else None
    with connect(dsn) as store:
        distributions = read_mart(store, "term_depth_distribution", where={"term": terms, "model_name": model},
                                  order_by=["term", "model_name", "settings", "pool_key"])
        settings_pairs = [row for t in terms for row in _settings_pairs(store, t, part, model)] if part else []
        comparisons = read_mart(store, "term_comparison",
                                where={"term_a": terms, "term_b": terms, "model_name": model},
                                order_by=["model_name", "settings_a", "term_a", "term_b"])
        sessions = read_mart(store, "session_comparison", where={"term": terms, "model_name": model},
                             order_by=["term", "started_at"])
        agreement = read_mart(store, "judge_agreement", where={"term": terms, "model_name": model},
                              order_by=["term", "model_name", "judge_version", "labeller"])
        found = TermAnalysis(distributions, comparisons, sessions, agreement, part, settings_pairs,
                             _unpaired(terms, distributions))
    _require_terms(terms, found.distributions, model, "the marts")
    return found


def _settings_pairs(store, term: str, part: str, model: str | None) -> list[dict]:
    """Rows of marts.settings_comparison: pairs of pools of ``term`` that differ in ``part`` alone."""
    return read_mart(store, "settings_comparison", where={"term_a": term, "differs_in": [part], "model_name": model},
                     order_by=["settings_a", "settings_b"])


def _require_terms(terms: list[str], rows: list[dict], model: str | None, where: str) -> None:
    """MartsNotBuilt naming the terms that have no row in ``rows`` (read from ``where``)."""
    missing = [t for t in terms if t not in {r["term"] for r in rows}]
    if missing:
        raise MartsNotBuilt(
            f"no data in {where} for {', '.join(repr(t) for t in missing)}"
            + (f" with model {model!r}" if model else "")
            + ": collect it with nyx-collect, then run `dbt build`"
        )


def _unpaired(terms: list[str], distributions: list[dict]) -> list[tuple[str, str]]:
    """Pairs of the terms asked for that share no settings key: the marts never compare them."""
    keys = {t: {r["settings_key"] for r in distributions if r["term"] == t} for t in terms}
    return [(a, b) for i, a in enumerate(terms) for b in terms[i + 1:]
            if keys[a] and keys[b] and not keys[a] & keys[b]]


def echo_transitions(terms: list[str], *, model: str | None = None, dsn: str | None = None) -> list[dict]:
    """The rows of marts.echo_type_transitions of ``terms`` (the heat maps of ``--png``)."""
    terms = list(dict.fromkeys(validate_term(t) for t in terms))
    with connect(dsn) as store:
        return read_mart(store, "echo_type_transitions", where={"term": terms, "model_name": model},
                         order_by=["term", "model_name", "from_echo_type", "to_echo_type"])
