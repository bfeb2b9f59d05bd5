"""Messages between the partnership and the nimmerverse (one table per direction)."""

from __future__ import annotations

from typing import Any

from collector.core.errors import DatabaseError, InputError
from collector.db.store.connection import Connection

__all__ = ["MESSAGE_DIRECTIONS", "MESSAGE_TYPES", "Messages"]

MESSAGE_DIRECTIONS = ("nimmerverse", "partnership")
#: For error messages only: the database's CHECK constraints (migrations/0002) decide.
MESSAGE_TYPES = {
    "nimmerverse": ("architecture_update", "deployment_instruction", "config_change", "research_direction"),
    "partnership": ("status_report", "discovery", "question", "milestone"),
}


def _direction(to: str) -> str:
    if to not in MESSAGE_DIRECTIONS:
        raise InputError(f"unknown message direction {to!r}: use one of {', '.join(MESSAGE_DIRECTIONS)}")
    return to


class Messages(Connection):
    """public.partnership_to_nimmerverse_messages and public.nimmerverse_to_partnership_messages."""

    def write_message(self, to: str, message_type: str, message: str) -> dict[str, Any]:
        """Store a message to ``to`` ('nimmerverse' or 'partnership'); the database checks the type."""
        name = f"write_message_to_{_direction(to)}"
        params = {"message": message, "message_type": message_type}
        try:
            return self._one(name, params, f"cannot write the message to the {to}")
        except DatabaseError as exc:
            if "too long" in str(exc):
                raise InputError(f"message type is {len(message_type)} characters long; the limit is 50") from exc
            if "message_type_known" in str(exc):
                allowed = ", ".join(MESSAGE_TYPES[to])
                raise InputError(f"message type {message_type!r} is not allowed to the {to}: use {allowed}") from exc
            raise

    def read_messages(self, to: str, limit: int = 5) -> list[dict[str, Any]]:
        """The ``limit`` latest messages to ``to``, newest first."""
        return self._all(f"read_messages_to_{_direction(to)}", {"limit": int(limit)},
                         f"cannot read the messages to the {to}")
