"""``nyx-collect message``: messages between the partnership and the nimmerverse, through collector.api."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.face.options import DsnOption, JsonLinesOption, echo, open_store

message_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                          help="Messages between the partnership and the nimmerverse (stored in phoebe).")

DirectionOption = Annotated[str, typer.Option("--to", help="nimmerverse or partnership.")]


@message_app.command("write")
def message_write(
    text: Annotated[str, typer.Argument(help="The message.")],
    to: DirectionOption = "nimmerverse",
    message_type: Annotated[str, typer.Option("--type", help="Message type (checked by the database).")]
    = "research_direction",
    dsn: DsnOption = None,
) -> None:
    """Store a message; prints its id and timestamp.

    Example: nyx-collect message write --to nimmerverse --type research_direction "probe Dasein next"
    """
    from collector.api import Phoebe

    with Phoebe.from_store(open_store(dsn, announce=False)) as phoebe:
        stored = phoebe.write_message(to=to, message_type=message_type, message=text)
    echo(f"{stored.id}  {stored.timestamp.isoformat()}")


@message_app.command("read")
def message_read(
    to: DirectionOption = "nimmerverse",
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many, newest first.")] = 5,
    dsn: DsnOption = None,
    as_json: JsonLinesOption = False,
) -> None:
    """Show the latest messages to the nimmerverse (or with --to partnership, to the partnership).

    Example: nyx-collect message read --to partnership -n 10
    """
    from collector.api import Phoebe
    from collector.core.params import check_limit

    check_limit("-n/--limit", limit)
    with Phoebe.from_store(open_store(dsn, announce=False)) as phoebe:
        messages = phoebe.read_messages(to=to, limit=limit)
    for m in messages:
        if as_json:
            typer.echo(m.model_dump_json())
        else:
            echo(f"{m.timestamp.isoformat(timespec='seconds')}  {m.message_type:<22}  {m.message}")
