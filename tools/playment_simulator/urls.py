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


PRIVATE_FILES_BASE = "https://playment-data-uploads.s3.ap-south-1.amazonaws.com"
"""Where a segmentation result's referenced files live, privately, as in Playment's docs. Only
the attachment endpoint turns these into signed storage URLs; nothing ever fetches them."""


def referenced_file_url(project_id: str, job_id: str, name: str) -> str:
    return f"{PRIVATE_FILES_BASE}/{quote(project_id, safe='')}/{quote(job_id, safe='')}/{name}"


def file_path(prefix: str, project_id: str, job_id: str, name: str) -> str:
    """``{prefix}{project}/{job}/{name}``: a file a result references."""
    return f"{prefix}{quote(project_id, safe='')}/{quote(job_id, safe='')}/{quote(name, safe='')}"


def parse_file_path(prefix: str, path: str) -> tuple[str, str, str] | None:
    """``(project_id, job_id, name)`` from a path made by ``file_path``, or None."""
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    project_id, job_id, name = (unquote(part) for part in parts)
    return project_id, job_id, name
