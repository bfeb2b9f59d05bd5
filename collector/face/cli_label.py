"""``nyx-collect label``: researchers read a sample of stored rounds and give each its echo type
(raw.round_labels); ``label export`` and ``label import`` move labels as JSONL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.core import TyperGroup

from collector.core.errors import InputError
from collector.face.options import DsnOption, echo, err, open_store
from collector.write.labels import DEFAULT_SEED

if TYPE_CHECKING:
    from collector.face.labelling import Shown


class _LabelGroup(TyperGroup):
    """``label [SESSION] [options]`` means ``label start ...``; ``label export|import FILE`` as named."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["start", *args]
        return super().parse_args(ctx, args)


label_app = typer.Typer(cls=_LabelGroup, add_completion=False, rich_markup_mode=None,
                        help="Label stored rounds yourself, blind to the judge, so its agreement with careful "
                             "readers is measured on this model and term (marts.judge_agreement).\n\n"
                             "nyx-collect label [SESSION | --term TERM [--model M]] [--n 40] [--seed 0] "
                             "[--labeller NAME] [--again]: label a sample (options: label start --help).\n\n"
                             "Example: nyx-collect label --term Aufhebung --n 40")

LabellerOption = Annotated[Optional[str], typer.Option("--labeller", help="Who labels (default: the login name).",
                                                       show_default=False)]


def _shown(row: dict | None) -> Shown | None:
    """What the desk shows of a glossary row: the reference (and the German one) and the glosses."""
    from collector.face.labelling import Shown

    if row is None:
        return None
    german = f"  (de) {row['reference_de']}" if row.get("reference_de") else ""
    return Shown(row["reference"] + german, tuple(row.get("glosses") or ()), tuple(row.get("glosses_de") or ()))


@label_app.command("start", hidden=True)
def label_start(
    session: Annotated[Optional[str], typer.Argument(help="Session id, unique prefix or 'latest' "
                                                          "(default: latest, unless --term).",
                                                     show_default=False)] = None,
    term: Annotated[Optional[str], typer.Option("--term", help="Sample from every session of this term.",
                                                show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="With --term: only this model's sessions.",
                                                 show_default=False)] = None,
    n: Annotated[int, typer.Option("--n", help="Rounds to sample.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed; the same seed draws the same rounds, so "
                                                     "labellers overlap unless they choose their own.")]
    = DEFAULT_SEED,
    labeller: LabellerOption = None,
    again: Annotated[bool, typer.Option("--again", help="Show rounds of the sample you labelled already "
                                                        "(a new label replaces yours).")] = False,
    dsn: DsnOption = None,
) -> None:
    """Label a stratified sample of a session's (or a term's) rounds: 1-5 give a type, s skip, u undo, n note, q quit.

    Every label is stored as it is given; run the same command again to go on where you stopped.

    Example: nyx-collect label --term Aufhebung --n 40
    """
    from collector.face.labelling import Keys, run
    from collector.write.labels import MAX_SAMPLE, LabelDesk, draw, labeller_name
    from collector.core.params import validate_term

    who = labeller_name(labeller)
    if not 1 <= n <= MAX_SAMPLE:
        raise InputError(f"--n must be from 1 to {MAX_SAMPLE}")
    if session is not None and term is not None:
        raise InputError("give a SESSION or --term, not both")
    if model is not None and term is None:
        raise InputError("--model needs --term")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("label needs a terminal (to load labels from a file use: nyx-collect label import FILE)")
    with open_store(dsn) as store:
        store.migrate()
        if term is not None:
            term = validate_term(term)
            sessions = store.sessions_of_term(term, model)
            if not sessions:
                raise InputError(f"no stored rounds of {term!r}{' for that model' if model else ''}")
        else:
            sessions = [store.resolve_session(session or "latest")]
        sample = draw(store, sessions, who, n, seed, again)
        if not sample.items:
            err.print(f"you have labelled all {sample.sampled} rounds of this sample; draw others with --seed, "
                      "a larger --n, or relabel with --again")
            return
        if sample.already:
            err.print(f"{sample.already} of the {sample.sampled} sampled rounds are labelled by you already; "
                      f"{len(sample.items)} to go")
        references: dict[tuple[int | None, str], Shown | None] = {}

        def reference_of(item) -> Shown | None:
            key = (item.glossary_id, item.term)
            if key not in references:
                row = store.glossary_row(item.glossary_id) if item.glossary_id else store.reference_for(item.term)
                references[key] = _shown(row)
            return references[key]

        outcome = run(LabelDesk(store, sample.items, who), reference_of, Keys(sys.stdin))
    state = "stopped" if outcome.quit_early else "done"
    echo(f"{state}: {outcome.given} labelled, {outcome.skipped} skipped, {outcome.left} left of "
               f"{len(sample.items)} (labeller {who}); run `nyx-collect refresh` to update the judge's agreement")


@label_app.command("export")
def label_export(
    file: Annotated[Path, typer.Argument(help="JSONL file to write ('-' for stdout).")],
    session: Annotated[Optional[str], typer.Option("--session", help="Only this session's labels.",
                                                   show_default=False)] = None,
    term: Annotated[Optional[str], typer.Option("--term", help="Only this term's labels.", show_default=False)]
    = None,
    labeller: Annotated[Optional[str], typer.Option("--labeller", help="Only this labeller's labels.",
                                                    show_default=False)] = None,
    dsn: DsnOption = None,
) -> None:
    """Write labels as JSONL (session_id, run_number, round, term, prev, text, label, labeller, labelled_at,
    note, model_name): a labelled set `nyx-collect validate` reads.

    Example: nyx-collect label export aufhebung-labels.jsonl --term Aufhebung
    """
    from collector.write.labels import export_line, labeller_name
    from collector.core.params import validate_term

    if str(file) != "-" and file.exists() and not file.is_file():
        raise InputError(f"{file} is not a regular file")
    who = labeller_name(labeller) if labeller is not None else None
    term = validate_term(term) if term is not None else None
    with open_store(dsn, announce=False) as store:
        sid = store.resolve_session(session) if session is not None else None
        rows = store.export_labels(sid, term, who)
    text = "".join(export_line(r) + "\n" for r in rows)
    if str(file) == "-":
        sys.stdout.write(text)
    else:
        try:
            partial = file.with_name(f".{file.name}.partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(file)
        except OSError as exc:
            raise InputError(f"cannot write {file}: {exc.strerror}") from None
    err.print(f"exported {len(rows)} label(s)" + ("" if str(file) == "-" else f" to {file}"))


@label_app.command("import")
def label_import(
    file: Annotated[Path, typer.Argument(help="JSONL with session_id, run_number, round, label and labeller "
                                              "(as label export writes it).")],
    labeller: Annotated[Optional[str], typer.Option("--labeller", help="For lines without a labeller.",
                                                    show_default=False)] = None,
    dsn: DsnOption = None,
) -> None:
    """Load labels from FILE in one transaction: all or none; a line naming a round that is not stored, or whose
    term, model_name, prev or text differs from the stored round's, refuses the file. A label for a round the
    labeller labelled already replaces it.

    Example: nyx-collect label import aufhebung-labels.jsonl
    """
    from collector.write.labels import import_labels, labeller_name

    default = labeller_name(labeller) if labeller is not None else None
    with open_store(dsn, announce=False) as store:
        store.migrate()
        count = import_labels(store, file, default)
    echo(f"imported {count} label(s) from {file}")
