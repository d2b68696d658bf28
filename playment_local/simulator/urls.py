"""The storage origin's URL paths: private result URLs and their signed counterparts."""

from urllib.parse import quote, unquote

PRIVATE_PREFIX = "/private/"
SIGNED_PREFIX = "/signed/"
_SUFFIX = ".json"


def result_path(prefix: str, project_id: str, job_id: str) -> str:
    """``{prefix}{project}/{job}.json`` with both ids percent-encoded."""
    return f"{prefix}{quote(project_id, safe='')}/{quote(job_id, safe='')}{_SUFFIX}"


def parse_result_path(prefix: str, path: str) -> tuple[str, str] | None:
    """``(project_id, job_id)`` from a path made by ``result_path``, or None."""
    if not path.startswith(prefix) or not path.endswith(_SUFFIX):
        return None
    parts = path[len(prefix) : -len(_SUFFIX)].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return unquote(parts[0]), unquote(parts[1])
