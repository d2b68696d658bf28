"""The failures the exporter tells apart, because each one is handled differently.

Every one is an ``ExporterError``: a caller that handles them alike catches that one type.
Each carries a ``code`` (what a job's outcome or a log records) and a ``message``. Three class
names are part of the contract (``STATE_MACHINE_ERRORS``): Lambda reports an exception's class
name as its error type, and the state machine's Retry and Catch read that name.
"""


class ExporterError(Exception):
    """A failure the exporter tells apart: ``code`` names it in an outcome, ``message`` says
    what happened. Shown as ``code: message`` unless a subclass says otherwise."""

    def __init__(self, code: str, message: str, *, shown: str | None = None) -> None:
        super().__init__(f"{code}: {message}" if shown is None else shown)
        self.code = code
        self.message = message


class InvalidInput(ExporterError, ValueError):
    """The caller's input is wrong; nothing was requested. The message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__("invalid_input", f"{field}: {problem}", shown=f"{field}: {problem}")
        self.field = field


class PlaymentAuthError(ExporterError):
    """Playment rejected the API key: every further request would fail the same way.
    ``answer`` is what Playment answered (``HTTP 401, unauthorized``), when it did."""

    def __init__(self, message: str, answer: str | None = None) -> None:
        super().__init__("auth_failed", message, shown=message)
        self.answer = answer


# Codes of the ``PlaymentApiError`` the client raises when Playment does not know an ID: the
# project, or a batch of a project it knows (the client asks the project's details to tell).
PROJECT_NOT_FOUND = "project_not_found"
BATCH_NOT_FOUND = "batch_not_found"


class PlaymentApiError(ExporterError):
    """Playment answered with an error that retrying will not fix."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


class TransientError(ExporterError):
    """A failure worth trying again: a dropped connection, a 429/5xx, a server-side 400."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class PlaymentUnreachable(ExporterError):
    """A run's first request found no Playment API at the base URL: the connection was refused,
    the name does not resolve, TLS failed (``https`` to a plain-HTTP server, or a certificate
    that does not verify), or nothing answered. Not retried: it is the URL, not a passing
    fault. The message names the base URL and why."""

    def __init__(self, api_url: str, reason: str) -> None:
        message = f"no Playment API answers at {api_url}: {reason}"
        super().__init__("playment_unreachable", message, shown=message)
        self.api_url = api_url
        self.reason = reason


class RejectedBody(ExporterError):
    """A result body that must not be stored: cut short, or not JSON."""


class AlreadyExported(ExporterError):
    """The object exists and overwriting was not asked for; ``key`` is the object's."""

    def __init__(self, key: str) -> None:
        super().__init__("already_exported", f"{key} exists", shown=key)
        self.key = key


SHOWN_KEYS = 10  # a message stays short; the rest sit under the same job's prefix


class ObjectsLeftBehind(ExporterError):
    """Objects this run wrote could not be deleted again; ``left`` maps each key to the
    storage's code; ``location`` is where they are (``s3://bucket/prefix``, a folder)."""

    def __init__(self, location: str, left: dict[str, str]) -> None:
        shown = ", ".join(f"{key} ({code})" for key, code in list(left.items())[:SHOWN_KEYS])
        more = f" and {len(left) - SHOWN_KEYS} more" if len(left) > SHOWN_KEYS else ""
        message = f"{len(left)} object(s) left in {location}: {shown}{more}"
        super().__init__("cleanup_failed", message, shown=message)
        self.location = location
        self.left = left


class ResultsBucketUnusable(ExporterError):
    """The results bucket is one the state machine cannot use: in another region or account
    than the stack (a distributed Map reads its items and writes its results only there), or
    missing. Found at the first listing step, before anything is listed; retrying cannot help.
    """

    def __init__(self, message: str) -> None:
        super().__init__("results_bucket_unusable", message, shown=message)


# The error names the state machine's Retry and Catch read (statemachine/export.asl.json):
# a handler's exception reaches it under its class name, so these classes keep their names.
STATE_MACHINE_ERRORS = (InvalidInput, PlaymentAuthError, ResultsBucketUnusable)
