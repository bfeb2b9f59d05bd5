"""A DSN's password never reaches the output, however malformed the DSN: from --dsn or PHOEBE_DSN,
for collecting and the other commands, only the masked DSN and a reason that quotes none of it.

Bad syntax is bad input (exit 2); a DSN that parses but cannot connect is a database error (4)."""

from __future__ import annotations

import pytest

from collector.db.dsn import mask_dsn
from tests.cli_helpers import run_cli

P = "Sx9qZk7w"  # the password in most cases; neither half may appear
HALVES = ["Sx9q", "Zk7w"]

# (DSN, exit code, texts that must not appear in stdout or stderr)
CASES = [
    # URLs libpq cannot parse
    (f"postgresql://u:{P}@[::1:5432/db", 2, HALVES),  # unclosed IPv6 bracket
    (f"postgresql://u:{P}@[/db", 2, HALVES),
    (f"postgresql://u:{P}@[]:5432/db", 2, HALVES),  # empty IPv6 address
    (f"postgresql://u:{P}@[::1]x/db", 2, HALVES),  # a character after the bracket
    ("postgresql://u:Sx9q%zzZk7w@host/db", 2, HALVES),  # invalid percent-escape in the password
    ("postgresql://u:Sx9q%Zk7w@host/db", 2, HALVES),
    ("postgresql://u:Sx9q%2Zk7w@host/db", 2, HALVES),
    ("postgresql://u:Sx9q%00Zk7w@host/db", 2, HALVES),  # %00
    ("postgresql://u@host/db?password=Sx9q%zzZk7w", 2, HALVES),
    ("postgresql://u:Sx9qZk7w@host/db%zz", 2, HALVES),
    (f"postgresql://u:{P}@host/db?foo=bar", 2, HALVES),  # unknown parameter
    (f"postgresql://u:{P}@host/db?x", 2, HALVES),  # parameter without "="
    (f"postgresql://u:{P}@host/db?a==b", 2, HALVES),
    (f"postgresql://u@host/db?password={P}&bogus=1", 2, HALVES),
    (f"postgresql://u@host/db?PassWord={P}", 2, HALVES),
    (f"postgresql://u:{P}@ho st/db", 2, HALVES),  # a raw space
    (f"postgresql://u:{P}@host/db?sslmode=require&host=%zz", 2, HALVES),
    # URLs libpq parses into something else than meant
    ("postgresql://u:Sx9q@Zk7w@host/db", 2, HALVES),  # a raw "@" in the password
    ("postgresql://u:Sx9q@Zk7w@[::1/db", 2, HALVES),
    ("postgresql://u:Sx9q/Zk7w@host/db", 2, HALVES),  # a raw "/" in the password
    (f"postgresql://u:{P}/db", 2, HALVES),  # "@host" forgotten: the password is read as a port
    (f"postgresql://u:{P}", 2, HALVES),
    (f"postgresql://u:{P}@host:abc/db", 2, HALVES),  # a bad port next to a password
    (f"postgresql://u:{P}@host:99999/db", 2, HALVES),
    # mistyped schemes: not URLs, not key=value either
    (f"postgresql//u:{P}@host/db", 2, HALVES),
    (f"postgres:/u:{P}@host/db", 2, HALVES),
    (f"postgresq://u:{P}@host/db", 2, HALVES),
    (f"http://u:{P}@host/db", 2, HALVES),
    ("u:Sx9qZk7w@host/db", 2, HALVES),
    # key=value strings libpq cannot parse
    (f"host=h password={P} bogus=1", 2, HALVES),
    (f"host=h password='{P}", 2, HALVES),  # unterminated quote
    (f"host=h password = {P} oops", 2, HALVES),
    (f"password={P} host", 2, HALVES),
    ("host=h password=Sx9q Zk7w=1", 2, HALVES),  # a space in an unquoted password
    ("host=h password=Sx9q Zk7w", 2, HALVES),
    (f"user=u password={P} port=x", 2, HALVES),
    (f"host=h sslpassword={P} bogus", 2, HALVES),
    (f"host=h password={P} port=70000", 2, HALVES),
    # DSNs that parse and then fail to connect: a database error, still masked
    (f"postgresql://u:{P}@127.0.0.1:1/db?connect_timeout=3", 4, HALVES),
    (f"host=127.0.0.1 port=1 user=u password={P} connect_timeout=3", 4, HALVES),
    (f"postgresql://u:{P}@127.0.0.1:1/db?sslmode=bogus", 4, HALVES),
    (f"host=127.0.0.1 port=1 password={P} connect_timeout=abc", 4, HALVES),
]  # fmt: skip


def check_output(result, code: int, secrets: list[str], source: str) -> None:
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    if code:
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.err
    if code == 2:
        assert f"invalid DSN ({source})" in lines[0]
    for secret in secrets:
        assert secret not in result.out and secret not in result.err, f"{secret!r} shown: {result.err}"


@pytest.mark.parametrize("source", ["--dsn", "PHOEBE_DSN"])
@pytest.mark.parametrize("dsn, code, secrets", CASES, ids=[c[0] for c in CASES])
def test_collecting_with_a_malformed_dsn_never_shows_its_password(capsys, monkeypatch, tiny_model_dir, source, dsn,
                                                                  code, secrets):
    monkeypatch.delenv("PHOEBE_DSN", raising=False)
    monkeypatch.delenv("NYX_DEBUG", raising=False)
    argv = ["Wille", "--runs", "2", "--model", str(tiny_model_dir), "--no-iris", "--quiet"]
    if source == "--dsn":
        argv += ["--dsn", dsn]
    else:
        monkeypatch.setenv("PHOEBE_DSN", dsn)
    check_output(run_cli(capsys, *argv), code, secrets, source)


@pytest.mark.parametrize("dsn, code, secrets", CASES, ids=[c[0] for c in CASES])
def test_other_commands_with_a_malformed_dsn_never_show_its_password(capsys, monkeypatch, dsn, code, secrets):
    monkeypatch.delenv("NYX_DEBUG", raising=False)
    monkeypatch.setenv("PHOEBE_DSN", dsn)
    for argv in (["sessions"], ["migrate"], ["db", "env"], ["stats", "latest"]):
        expected = 0 if argv == ["db", "env"] and code == 4 else code  # db env does not connect
        check_output(run_cli(capsys, *argv), expected, secrets, "PHOEBE_DSN")
        check_output(run_cli(capsys, *argv, "--dsn", dsn), expected, secrets, "--dsn")
    for secret in secrets:
        assert secret not in mask_dsn(dsn)


def test_the_table_covers_the_cases_the_issue_names_and_many_more():
    dsns = [c[0] for c in CASES]
    assert any("[::1:" in d for d in dsns) and any("%zz" in d for d in dsns) and any("Sx9q@Zk7w" in d for d in dsns)
    assert len(CASES) >= 40
