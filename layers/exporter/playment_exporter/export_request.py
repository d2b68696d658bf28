"""What an export is asked to do, checked before anything is requested.

The same input comes from the console, the API body, the schedule and the command line:
``{"project_id": "P", "batch_ids": ["B1", ...], "overwrite": false}`` (``batch_id`` for one),
or ``{"project_id": "P", "all_batches": true}`` for every batch of the project that has
completed jobs, as the project's details list them when the export runs. With
``"include_referenced": true`` the files a result points at (segmentation masks, point
clouds) are exported beside it. ``"full_listing": true`` lists every batch of an
``all_batches`` export, even those whose details say nothing changed (``batch_history``).
"""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from playment_exporter.errors import InvalidInput
from playment_exporter.ids import validate_id

KNOWN_FIELDS = frozenset(
    {
        "project_id",
        "batch_ids",
        "batch_id",
        "all_batches",
        "overwrite",
        "include_referenced",
        "full_listing",
    }
)


class ExportRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: str
    batch_ids: tuple[str, ...] = ()
    all_batches: bool = False
    overwrite: bool = False
    include_referenced: bool = False
    full_listing: bool = False

    @classmethod
    def from_input(cls, document: Any) -> Self:
        """Check an execution input; the first problem raises ``InvalidInput`` naming its field."""
        if not isinstance(document, dict):
            raise InvalidInput("input", "must be a JSON object")
        unknown = sorted(set(document) - KNOWN_FIELDS)
        if unknown:
            raise InvalidInput(
                unknown[0], f"unknown field (expected one of {sorted(KNOWN_FIELDS)})"
            )
        if "project_id" not in document:
            raise InvalidInput("project_id", "is required")
        project_id = validate_id("project_id", document["project_id"])
        options = {
            "overwrite": _flag(document, "overwrite"),
            "include_referenced": _flag(document, "include_referenced"),
            "full_listing": _flag(document, "full_listing"),
        }
        if _flag(document, "all_batches"):
            named = sorted({"batch_id", "batch_ids"} & set(document))
            if named:
                raise InvalidInput(named[0], "give all_batches or batch IDs, not both")
            return cls(project_id=project_id, all_batches=True, **options)
        return cls(project_id=project_id, batch_ids=_batch_ids(document), **options)


def _flag(document: dict[str, Any], name: str) -> bool:
    value = document.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(name, "must be true or false")
    return value


def _batch_ids(document: dict[str, Any]) -> tuple[str, ...]:
    if "batch_id" in document and "batch_ids" in document:
        raise InvalidInput("batch_id", "give batch_id or batch_ids, not both")
    if "batch_id" in document:
        return (validate_id("batch_id", document["batch_id"]),)
    if "batch_ids" not in document:
        raise InvalidInput("batch_ids", "is required (or batch_id for one, or all_batches: true)")
    batch_ids = document["batch_ids"]
    if not isinstance(batch_ids, list) or not batch_ids:
        raise InvalidInput("batch_ids", "must be a non-empty list of batch IDs")
    checked = [validate_id(f"batch_ids[{n}]", value) for n, value in enumerate(batch_ids)]
    return tuple(dict.fromkeys(checked))  # a batch named twice is exported once
