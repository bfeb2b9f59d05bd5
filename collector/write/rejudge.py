"""``nyx-collect rejudge``: judge stored rounds again with another judge version, without generating.

The new verdicts go to ``raw.round_judgements`` keyed by judge version, with the judge's settings in
``raw.session_judgements``; the original judgement in ``raw.probe_rounds`` is never touched. Each
round is judged exactly as the probe would have judged it: the same anchor, the text it answered,
and the chain of completions before it. dbt derives depth and echo types per judge version from
these rows (``marts.session_judgements``). Sessions collected with ``--stop-early`` only have the
rounds up to their first break, so their depth under another judge is a lower bound where that
judge would have continued; the marts flag them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from collector import __version__
from collector.db.connect import connect
from collector.core.errors import InputError
from collector.core.glossary import shipped_entries
from collector.judge.judge import FEATURE_NAMES
from collector.judge import registry
from collector.judge.registry import DEFAULT_JUDGE, check_judge
from collector.judge.select import JudgeKit, check_judge_options, judge_settings
from collector.core.params import frame_term
from collector.core.records import JudgeItem

BATCH_ITEMS = 512


@dataclass(frozen=True)
class RejudgeSummary:
    session_id: str
    term: str
    judge_version: str
    judge_mode: str
    rounds_judged: int

    def as_dict(self) -> dict:
        return dict(vars(self))


def chain_items(session: dict, rounds: list[dict]) -> list[JudgeItem]:
    """The JudgeItem of every stored round (ordered by run and round), as the probe built them."""
    anchor = frame_term(session["prompt_template"], session["term"])
    items: list[JudgeItem] = []
    history: list[str] = []
    run = None
    for r in rounds:
        if r["run_number"] != run:
            run, history = r["run_number"], [anchor]
        prev = anchor if r["round"] == 1 else r["prompt"]
        text = r["completion"].strip()
        items.append(JudgeItem(anchor=anchor, prev=prev, text=text, history=list(history)))
        if text:
            history.append(text)
    return items


def rejudge_sessions(refs: list[str], *, all_sessions: bool = False, judge_version: str = DEFAULT_JUDGE,
                     dsn: str | None = None, on_note: Callable[[str], None] | None = None,
                     judge_options: dict | None = None) -> Iterator[RejudgeSummary]:
    """Re-judge the sessions named (id, unique prefix or 'latest'), or with ``all_sessions`` every
    finished session not yet judged by ``judge``; yield one summary per session as it is stored (one
    transaction each). A judge with a server (``judge_options``) is checked before the database is
    opened, and refused before anything is written if its model probed one of the sessions.

    Processes re-judging at once share the work: each session is judged under a lock of its own
    (:meth:`Store.rejudge_lock`), and one that another process is judging (or, with ``--all``, has
    judged since the listing) is skipped, which ``on_note`` hears as one line at the end."""
    check_judge(judge_version)
    options = check_judge_options(judge_version, judge_options)
    if registry.entry(judge_version).needs_probe_model:
        raise InputError(f"judge {judge_version} needs the probe model's hidden states; rejudge takes a reference "
                         "judge (the ones that need no model)")
    if bool(refs) == all_sessions:
        raise InputError("name the sessions to re-judge, or pass --all (not both)")
    kit = JudgeKit(judge_version, options=options)
    with connect(dsn, on_note=on_note) as store:
        store.migrate()
        store.seed_glossary(shipped_entries())
        ids = store.sessions_to_rejudge(judge_version) if all_sessions else [store.resolve_session(r) for r in refs]
        if all_sessions and not ids and on_note:
            on_note(f"every finished session is already judged by {judge_version}")
        ids = list(dict.fromkeys(ids))
        for session_id in ids:  # a judge model that probed one of them is refused before any is judged
            kit.check_probed_model((store.get_session(session_id) or {}).get("model_name", ""))
        elsewhere = 0
        for session_id in ids:
            with store.rejudge_lock(session_id, kit.judge_version) as mine:
                summary = _rejudge_one(store, kit, session_id, all_sessions) if mine else None
            if summary is None:
                elsewhere += 1
            else:
                yield summary
        if elsewhere and on_note:
            on_note(f"skipped {elsewhere} session(s) being judged by {kit.judge_version} in another process")


def _rejudge_one(store, kit: JudgeKit, session_id: uuid.UUID, all_sessions: bool) -> RejudgeSummary | None:
    """Judge one session (its rejudge lock held); None when, with ``all_sessions``, another process
    judged it between the listing and the lock."""
    from collector.write.session import judge_for_term

    row = store.get_session(session_id)
    if row["status"] == "running":
        raise InputError(f"session {session_id} is still running: re-judge it once it has finished")
    if row["judge_version"] == kit.judge_version:
        raise InputError(f"session {session_id} was collected with judge {kit.judge_version}: its own judgement is "
                         "that one")
    if any(j["judge_version"] == kit.judge_version for j in store.session_judgements(session_id)):
        if all_sessions:
            return None
        raise InputError(f"session {session_id} is already judged by {kit.judge_version}")
    rounds = store.fetch_rounds(session_id)
    if not rounds:
        raise InputError(f"session {session_id} has no stored rounds to judge")
    session_judge = judge_for_term(store, kit, row["term"])
    items = chain_items(row, rounds)
    verdicts = []
    for start in range(0, len(items), BATCH_ITEMS):
        verdicts += session_judge.judge(items[start:start + BATCH_ITEMS])
    rows = [
        (session_id, r["run_number"], r["round"], kit.judge_version, v.echo_type.value,
         *(v.features[name] for name in FEATURE_NAMES))
        for r, v in zip(rounds, verdicts, strict=True)
    ]
    store.write_rejudgement({
        "session_id": session_id, "judge_version": kit.judge_version, "judge_mode": session_judge.mode,
        "glossary_id": session_judge.glossary_id, "encoder": session_judge.encoder_name,
        "rounds_judged": len(rows), "collector_version": __version__,
        "judge_settings": judge_settings(session_judge),
    }, rows)
    return RejudgeSummary(str(session_id), row["term"], kit.judge_version, session_judge.mode, len(rows))
