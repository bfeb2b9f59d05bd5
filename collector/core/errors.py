"""The collector's own exceptions. Each carries a one-line message meant for the user.

The CLI turns them into an ``Error: ...`` line on stderr and the exit code below; nothing else
in the package prints tracebacks for expected failures. Every error class of the package is here.
"""


class CollectorError(Exception):
    """Base class: an expected failure with a one-line, user-facing message."""

    exit_code = 1


class InputError(CollectorError):
    """Bad input on the command line, in a terms file or in the environment."""

    exit_code = 2


class UnknownRounds(InputError):
    """Labels name rounds that are not stored, or not as they claim (another term, model, prompt or
    completion); ``unknown`` holds (position, reason) pairs."""

    def __init__(self, unknown: list[tuple[int, str]]):
        self.unknown = unknown
        super().__init__(f"{len(unknown)} label(s) name rounds that are not stored as they say")


class ModelError(CollectorError):
    """The model could not be found, converted or loaded."""

    exit_code = 3


class JudgeServerError(ModelError):
    """The LLM judge's server (an OpenAI-compatible endpoint) is unreachable, too slow, or answered
    something that is not a label."""


class DatabaseError(CollectorError):
    """The database is unreachable or refused an operation."""

    exit_code = 4


class RunsAlreadyStored(DatabaseError):
    """Some runs of a batch are stored already (another collector of the session wrote them); nothing
    of the batch was stored."""


class EmbeddedServerError(DatabaseError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


class SessionNotFound(CollectorError):
    """No session with that id exists."""

    exit_code = 5


class Interrupted(CollectorError):
    """Ctrl-C or SIGTERM stopped a collection; finished runs were kept."""

    exit_code = 130


class MartsNotBuilt(CollectorError):
    """The dbt marts are missing or do not yet hold what was asked for."""

    exit_code = 6


class IrisError(CollectorError):
    """ChromaDB (iris) is unreachable or refused an operation."""

    exit_code = 7


class RefreshFailed(CollectorError):
    """dbt ran, and some models or data tests failed."""

    exit_code = 1


def one_line(exc: BaseException, limit: int = 200) -> str:
    """A one-line, bounded description of an exception: its first non-blank line, else its type."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[0].split()) if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
