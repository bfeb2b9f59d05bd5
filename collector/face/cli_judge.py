"""``nyx-collect glossary``, ``validate`` and ``rejudge``: the judge's reference meanings, its check
against human labels, and judging stored rounds again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from collector.core.printable import json_text
from collector.face.options import (DsnOption, JsonLinesOption, JudgeAllowSelfOption, JudgeConcurrencyOption,
                                    JudgeModelOption, JudgeTimeoutOption, JudgeUrlOption, echo, judge_options,
                                    open_store, out)
from collector.judge.registry import DEFAULT_JUDGE

glossary_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                           help="Reference meanings of terms (raw.glossary in phoebe), which the judge compares "
                                "every round with. A change adds a version; old versions stay.")


def _show_row(row: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json_text({k: (str(v) if k == "added_at" else v) for k, v in row.items()}))
        return
    german = "  (+de)" if row.get("reference_de") else ""
    text = row["reference"] if len(row["reference"]) <= 90 else row["reference"][:87] + "..."
    echo(f"{row['term']}  v{row['version']}  [{row['language']}]{german}  {text}")
    glosses = "; ".join(row.get("glosses") or ())
    german_glosses = "; ".join(row.get("glosses_de") or ())
    if glosses or german_glosses:
        shown = "  ".join(part for part in (glosses, german_glosses and f"(de) {german_glosses}") if part)
        echo(f"    glosses: {shown}")


@glossary_app.command("add")
def glossary_add(
    term: Annotated[str, typer.Argument(help="The term, as it is collected.")],
    text: Annotated[str, typer.Argument(help="A short description of its meaning, in English.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the term (ISO 639: en, de, ...).")] = "en",
    german: Annotated[Optional[str], typer.Option("--de", help="The same description in German.",
                                                  show_default=False)] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where the description comes from.",
                                                  show_default=False)] = None,
    gloss: Annotated[Optional[list[str]], typer.Option("--gloss", help="An accepted short English gloss (a "
                                                       "translation, a synonym, a few words); repeat for more.",
                                                       show_default=False)] = None,
    gloss_de: Annotated[Optional[list[str]], typer.Option("--gloss-de", help="An accepted short German gloss; "
                                                          "repeat for more.", show_default=False)] = None,
    dsn: DsnOption = None,
) -> None:
    """Add a reference meaning and its glosses (a new version when the term has one already and the
    entry differs; the same entry again is a no-op).

    Example: nyx-collect glossary add Dasein "Heidegger's term for human existence ..." --lang de --source "SEP"
    --gloss "being-there" --gloss existence --gloss-de Existenz
    """
    from collector.core.glossary import make_entry

    entry = make_entry(term, text, german, lang, source, gloss, gloss_de)
    with open_store(dsn, announce=False) as store:
        store.migrate()
        row = store.add_reference(entry)
    echo(f"{'added' if row['added'] else 'unchanged'}: {row['term']} v{row['version']} (glossary id {row['id']})")


@glossary_app.command("import")
def glossary_import(
    file: Annotated[Path, typer.Argument(help="JSONL or .csv with term, reference and optionally reference_de, "
                                               "language, source, glosses, glosses_de (JSONL: lists of texts; "
                                               "CSV: glosses separated by |).")],
    dsn: DsnOption = None,
) -> None:
    """Add every entry of FILE in one transaction (all or none); unchanged entries add no version.

    Example: nyx-collect glossary import terms.jsonl
    """
    from collector.core.glossary import read_glossary_file

    entries = read_glossary_file(file)
    with open_store(dsn, announce=False) as store:
        store.migrate()
        rows = store.add_references(entries)
    added = sum(1 for r in rows if r["added"])
    echo(f"imported {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}: {added} new version(s), "
               f"{len(rows) - added} unchanged")


@glossary_app.command("list")
def glossary_list(
    all_versions: Annotated[bool, typer.Option("--all", help="Every version, not only the newest.")] = False,
    dsn: DsnOption = None,
    as_json: JsonLinesOption = False,
) -> None:
    """List the reference meanings in force (the shipped ones are loaded on first use).

    Example: nyx-collect glossary list --all
    """
    from collector.core.glossary import shipped_entries

    with open_store(dsn, announce=False) as store:
        store.migrate()
        store.seed_glossary(shipped_entries())
        rows = store.list_glossary(all_versions)
    for row in rows:
        _show_row(row, as_json)


def validate(
    file: Annotated[Path, typer.Argument(help="JSONL of labelled rounds: term, prev, text, label (optional "
                                               "label_b, a second reader's; reference, glosses, glosses_de, "
                                               "round).")],
    references: Annotated[Optional[Path], typer.Option("--references", help="JSONL of term, reference "
                                                       "(optional reference_de, glosses, glosses_de) for items "
                                                       "without their own.", show_default=False)] = None,
    judge: Annotated[str, typer.Option("--judge", help="Judge version to validate (ref-3, ref-2, rules-1 or "
                                       "llm-1).")] = DEFAULT_JUDGE,
    model: Annotated[Optional[str], typer.Option(help="Probe model, only for --judge rules-1.",
                                                 show_default=False)] = None,
    no_glossary: Annotated[bool, typer.Option("--no-glossary", help="Do not look up missing references or "
                                              "glosses in the database; items without a reference are judged "
                                              "against the frame.")] = False,
    dsn: DsnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the figures.")] = False,
    show_misses: Annotated[bool, typer.Option("--misses", help="List every item the judge got wrong.")] = False,
    every_row: Annotated[bool, typer.Option("--every-row", help="In a file read by two readers (label, label_b), "
                                            "keep the rows they disagree on too, with the first reader's label "
                                            "(default: only the rows they agree on).")] = False,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples of the set's terms for the "
                                           "95% intervals of the headline figures (0: no intervals; a set of "
                                           "fewer than 5 terms gets none).")] = 2000,
    judge_url: JudgeUrlOption = None,
    judge_model: JudgeModelOption = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    judge_timeout: JudgeTimeoutOption = None,
) -> None:
    """Judge every labelled item through the real judge; print accuracy, Cohen's kappa and the
    continue/stop accuracy, each with a 95% interval over the set's terms, per-class
    precision/recall/F1 and the confusion matrix.

    Example: nyx-collect validate labelled.jsonl --references terms.jsonl
    Example: nyx-collect validate labelled.jsonl --judge llm-1 --judge-url http://127.0.0.1:8080/v1
    """
    from collector.face import report
    from collector.judge.validate import validate_file

    result = validate_file(file, references=references, judge_version=judge, model=model, dsn=dsn,
                           use_glossary=not no_glossary, every_row=every_row, resamples=resamples,
                           judge_options=judge_options(judge_url, judge_model, judge_concurrency, judge_timeout,
                                                       False))
    if as_json:
        typer.echo(json_text(result.as_dict()))
    else:
        report.print_validation(out(), result, show_misses)


def rejudge(
    sessions: Annotated[Optional[list[str]], typer.Argument(help="Session ids, unique prefixes or 'latest'.",
                                                            show_default=False)] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="Every finished session not yet judged by --judge.")]
    = False,
    judge: Annotated[str, typer.Option("--judge", help="Judge version to judge with (ref-3, ref-2 or llm-1).")]
    = DEFAULT_JUDGE,
    dsn: DsnOption = None,
    as_json: JsonLinesOption = False,
    judge_url: JudgeUrlOption = None,
    judge_model: JudgeModelOption = None,
    judge_concurrency: JudgeConcurrencyOption = None,
    judge_timeout: JudgeTimeoutOption = None,
    judge_allow_self: JudgeAllowSelfOption = False,
) -> None:
    """Judge the stored rounds of sessions again with another judge version, without generating;
    the original judgement stays, the new one is stored beside it (marts.session_judgements after
    a refresh), one transaction per session.

    Example: nyx-collect rejudge --all && nyx-collect refresh
    Example: nyx-collect rejudge --all --judge llm-1 --judge-url http://gpu1:8000/v1 --judge-model Qwen2.5-7B
    """
    from collector.face.options import err
    from collector.write.rejudge import rejudge_sessions

    for summary in rejudge_sessions(sessions or [], all_sessions=all_sessions, judge_version=judge, dsn=dsn,
                                    on_note=err.print,
                                    judge_options=judge_options(judge_url, judge_model, judge_concurrency,
                                                                judge_timeout, judge_allow_self)):
        if as_json:
            typer.echo(json_text(summary.as_dict()))
        else:
            echo(f"{summary.session_id}  {summary.judge_version} ({summary.judge_mode})  "
                       f"{summary.rounds_judged} rounds  {summary.term}")
