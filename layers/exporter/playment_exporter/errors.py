"""The failures the exporter tells apart, because each one is handled differently.

The class names of ``InvalidInput``, ``PlaymentAuthError`` and ``ResultsBucketUnusable`` are
part of the contract: Lambda reports an exception's class name as its error type, and the state
machine ends the execution with that name.
"""


class InvalidInput(ValueError):
    """The caller's input is wrong; nothing was requested. The message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class PlaymentAuthError(Exception):
    """Playment rejected the API key: every further request would fail the same way.
    ``answer`` is what Playment answered (``HTTP 401, unauthorized``), when it did."""

    def __init__(self, message: str, answer: str | None = None) -> None:
        super().__init__(message)
        self.answer = answer


# Codes of the ``PlaymentApiError`` the client raises when Playment does not know an ID: the
# project, or a batch of a project it knows (the client asks the project's details to tell).
PROJECT_NOT_FOUND = "project_not_found"
BATCH_NOT_FOUND = "batch_not_found"


class PlaymentApiError(Exception):
    """Playment answered with an error that retrying will not fix."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class TransientError(Exception):
    """A failure worth trying again: a dropped connection, a 429/5xx, a server-side 400."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after


class PlaymentUnreachable(Exception):
    """A run's first request found no Playment API at the base URL: the connection was refused,
    the name does not resolve, TLS failed (``https`` to a plain-HTTP server, or a certificate
    that does not verify), or nothing answered. Not retried: it is the URL, not a passing
    fault. The message names the base URL and why."""

    def __init__(self, api_url: str, reason: str) -> None:
        super().__init__(f"no Playment API answers at {api_url}: {reason}")
        self.api_url = api_url
        self.reason = reason


class RejectedBody(Exception):
    """A result body that must not be stored: cut short, or not JSON."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AlreadyExported(Exception):
    """The object exists and overwriting was not asked for."""


SHOWN_KEYS = 10  # a message stays short; the rest sit under the same job's prefix


class ObjectsLeftBehind(Exception):
    """Objects this run wrote could not be deleted again; ``left`` maps each key to the
    storage's code; ``location`` is where they are (``s3://bucket/prefix``, a folder)."""

    def __init__(self, location: str, left: dict[str, str]) -> None:
        shown = ", ".join(f"{key} ({code})" for key, code in list(left.items())[:SHOWN_KEYS])
        more = f" and {len(left) - SHOWN_KEYS} more" if len(left) > SHOWN_KEYS else ""
        super().__init__(f"{len(left)} object(s) left in {location}: {shown}{more}")
        self.location = location
        self.left = left


class ResultsBucketUnusable(Exception):
    """The results bucket is one the state machine cannot use: in another region or account
    than the stack (a distributed Map reads its items and writes its results only there), or
    missing. Found at the first listing step, before anything is listed; retrying cannot help.
    """
