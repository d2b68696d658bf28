"""Identifier checks: every ID becomes part of a URL path or an S3 key, so it is checked first."""

import re

from playment_exporter.errors import InvalidInput

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def validate_id(field: str, value: object) -> str:
    """Return ``value`` if it is a safe ID, else raise ``InvalidInput`` naming ``field``.

    Letters, digits, ``-`` and ``_``, 1 to 128 characters: enough for Playment's IDs (UUIDs and
    otherwise) and nothing that could climb out of an S3 prefix or a URL path (``..``, ``/``).
    """
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, got {type(value).__name__}")
    if not _ID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(
            field, f"{shown!r} is not a valid ID (letters, digits, '-', '_'; 1 to 128 characters)"
        )
    return value
