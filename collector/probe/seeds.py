"""Seed derivation: session seed -> run seed -> round seed, stable across machines and versions.

Derived with SHA-256 rather than Python's ``hash`` or ``random`` so that the numbers never depend
on the interpreter, and masked to 63 bits so they fit PostgreSQL's ``bigint``.
"""

import hashlib
import secrets

_MASK = (1 << 63) - 1


def _derive(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") & _MASK


def new_session_seed() -> int:
    """A fresh random session seed, used when ``--seed`` is not given (it is stored either way)."""
    return secrets.randbits(63)


def run_seed(session_seed: int, run_number: int) -> int:
    """The seed of run ``run_number`` of a session; stored with the run."""
    return _derive("run", session_seed, run_number)


def round_seed(run_seed_value: int, round_number: int) -> int:
    """The sampling seed of one round of one run."""
    return _derive("round", run_seed_value, round_number)
