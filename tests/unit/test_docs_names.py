"""The docs name only what exists: every environment variable README.md, docs/*.md and
grafana/README.md tell the reader to set is read by the code (or by libpq, for PG*), every
``nyx-collect`` command they show is one the CLI has, and README's exit codes are the errors' own.

A variable nothing reads is worse than none: docs/scaling.md once said ``export NYX_DSN=...``, and a
worker following it collected into a local embedded database instead of phoebe, silently.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", REPO / "grafana" / "README.md", *(REPO / "docs").glob("*.md")])
# what reads the environment: the package, the benchmarks, the test fixtures, and the files other
# programs read (make, CI, the dbt profile, Grafana's provisioning)
PYTHON = sorted([*(REPO / "collector").rglob("*.py"), *(REPO / "bench").rglob("*.py"),
                 *(REPO / "tests").glob("conftest*.py"), *(REPO / "tests").glob("*helpers.py")])
OTHER = sorted([REPO / "Makefile", *(REPO / ".ci").iterdir(), REPO / "profiles.example.yml", REPO / "dbt_project.yml",
                *(REPO / "grafana" / "provisioning").rglob("*.yml")])

ENV_NAME = re.compile(r"\b((?:NYX|PHOEBE|IRIS)_[A-Z0-9_]+|PG[A-Z][A-Z0-9_]*)\b")
# a command and the word after it ("db url"); not a file name after it ("label  labels.py: ...")
COMMAND = re.compile(r"\bnyx-collect[ \t]+([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*)(?![\w.]))?")
NOT_ENV = {"PGSQL"}  # the socket's file name, .s.PGSQL.<port>


def named_in_docs(pattern: re.Pattern[str]) -> dict[tuple[str, ...], list[str]]:
    """Each match in the docs (its groups) and where it was found."""
    found: dict[tuple[str, ...], list[str]] = {}
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                found.setdefault(match.groups(), []).append(f"{doc.relative_to(REPO)}:{number}")
    return found


def string_constants(path: Path) -> set[str]:
    """The string constants of a Python file that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}


def read_by_the_code() -> set[str]:
    """Names that the code uses as a whole string ("NYX_HOME", as in os.environ.get("NYX_HOME")) or
    that a shell, make, dbt or Grafana file expands ($NAME, ${NAME}, env_var('NAME'))."""
    names: set[str] = set()
    for path in PYTHON:
        names |= {c for c in string_constants(path) if ENV_NAME.fullmatch(c)}
    expand = re.compile(r"\$\{?(\w+)|env_var\(\s*['\"](\w+)")
    for path in OTHER:
        if path.is_file():
            for match in expand.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    return names


def read_by_libpq() -> set[str]:
    return {o.envvar.decode() for o in psycopg.pq.Conninfo.get_defaults() if o.envvar}


def test_the_extraction_finds_what_the_docs_name():
    names = {groups[0] for groups in named_in_docs(ENV_NAME)}
    assert {"PHOEBE_DSN", "NYX_HOME", "IRIS_URL", "PGHOST", "NYX_VLLM_GPU_MEMORY"} <= names
    assert {"NYX_HOME", "PHOEBE_DSN", "IRIS_URL", "NYX_DEBUG", "NYX_TEST_DSN"} <= read_by_the_code()
    assert "NYX_DOES_NOT_EXIST" not in read_by_the_code()
    commands = set(named_in_docs(COMMAND))
    assert ("db", "env") in commands and ("glossary", "add") in commands
    assert not any(first[0].isupper() for first, _ in commands)  # terms (nyx-collect Aufhebung) are not commands


def test_every_environment_variable_in_the_docs_is_read():
    code, libpq = read_by_the_code(), read_by_libpq()
    unread = {}
    for (name,), where in named_in_docs(ENV_NAME).items():
        if name in NOT_ENV:
            continue
        if name not in code and not (name.startswith("PG") and name in libpq):
            unread[name] = where
    assert not unread, f"the docs name variables nothing reads: {unread}"


def cli_commands() -> dict[str, set[str]]:
    """Top-level command names, each with its subcommands (empty for a plain command)."""
    import typer

    from collector.face.cli import app

    group = typer.main.get_command(app)
    return {name: set(getattr(cmd, "commands", {})) for name, cmd in group.commands.items()}


def test_every_command_in_the_docs_exists():
    commands = cli_commands()
    missing = {}
    for (first, second), where in named_in_docs(COMMAND).items():
        if first not in commands:
            missing[f"nyx-collect {first}"] = where
        elif commands[first] and second is not None and second not in commands[first]:
            missing[f"nyx-collect {first} {second}"] = where
    assert not missing, f"the docs name commands the CLI does not have: {missing}"


def test_readme_exit_codes_are_the_errors_own():
    from collector.core import errors

    line = next(ln for ln in (REPO / "README.md").read_text(encoding="utf-8").split(". ") if "Exit codes:" in ln)
    documented = {int(code) for code in re.findall(r"\b(\d+)\s+[A-Za-z`]", line.split("Exit codes:", 1)[1])}
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.CollectorError)]
    assert documented == {c.exit_code for c in classes}, line

