"""``nyx-collect db``: the embedded PostgreSQL server (used when no DSN is configured)."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.face.options import DsnOption, embedded

db_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                     help="Manage the embedded PostgreSQL server (used when no DSN is configured).")

# --- db ------------------------------------------------------------------------------------------


@db_app.command("url")
def db_url(
    with_password: Annotated[bool, typer.Option("--with-password", help="Put the password itself in the URL "
                                                "(for programs that cannot read a libpq password file).")] = False,
) -> None:
    """Print the embedded server's URL, starting it if needed.

    The URL holds no password: its passfile= parameter names the owner-only file that holds it,
    which psql, dbt and psycopg read. --with-password prints the password itself.

    Example: psql "$(nyx-collect db url)"
    """
    server = embedded()
    typer.echo(server.url_with_password() if with_password else server.ensure_running())


@db_app.command("start")
def db_start() -> None:
    """Start the embedded server (a no-op when it runs) and print its URL.

    Example: nyx-collect db start
    """
    typer.echo(embedded().ensure_running())


@db_app.command("status")
def db_status() -> None:
    """Show whether the embedded server runs, where its data lives and how to connect.

    Example: nyx-collect db status
    """
    status = embedded().status()
    for key, value in status.items():
        typer.echo(f"{key:<11} {value}")
    if not status.get("running"):
        raise typer.Exit(1)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server.

    Example: nyx-collect db stop
    """
    typer.echo("stopped" if embedded().stop() else "not running")


@db_app.command("env")
def db_env(dsn: DsnOption = None) -> None:
    """Print shell exports (PG* variables) for psql and dbt, for the configured or embedded server.

    No password is printed: PGPASSFILE names an owner-only file that holds it (the embedded
    server's, or one written for a DSN with a password); a PGPASSWORD already set stays as it is.

    Example: eval "$(nyx-collect db env)" && psql -c 'select count(*) from raw.variance_probe_runs'
    """
    import shlex

    from collector.db.connect import shell_env

    for name, value in shell_env(dsn).items():
        typer.echo(f"export {name}={shlex.quote(value)}")
