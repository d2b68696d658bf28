"""The execution input, checked before anything is requested: what is accepted, and what each
refusal says (it becomes the execution's error cause, the one thing a user reads)."""

import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.export_request import KNOWN_FIELDS, ExportRequest

ID_RULE = "is not a valid ID (letters, digits, '-', '_'; 1 to 128 characters)"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"project_id": "p", "batch_id": "b"}, ExportRequest(project_id="p", batch_ids=("b",))),
        (
            {"project_id": "p", "batch_ids": ["b2", "b1", "b2"], "overwrite": True},
            ExportRequest(project_id="p", batch_ids=("b2", "b1"), overwrite=True),
        ),
        (
            {"project_id": "p", "all_batches": True, "include_referenced": True},
            ExportRequest(project_id="p", all_batches=True, include_referenced=True),
        ),
        (
            {"project_id": "p", "all_batches": False, "batch_id": "b", "overwrite": False},
            ExportRequest(project_id="p", batch_ids=("b",)),
        ),
    ],
)
def test_an_input_becomes_a_request(document, expected) -> None:
    # Given a valid input / When checked / Then it is the request it describes (a batch named
    # twice is exported once, in the order first named)
    assert ExportRequest.from_input(document) == expected


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "input: must be a JSON object"),
        (
            {"project_id": "p", "batch": "b"},
            f"batch: unknown field (expected one of {sorted(KNOWN_FIELDS)})",
        ),
        ({"batch_id": "b"}, "project_id: is required"),
        ({"project_id": 7, "batch_id": "b"}, "project_id: must be a string, got int"),
        ({"project_id": "p", "batch_id": "b", "overwrite": 1}, "overwrite: must be true or false"),
        (
            {"project_id": "p", "batch_id": "b", "include_referenced": "yes"},
            "include_referenced: must be true or false",
        ),
        ({"project_id": "p", "all_batches": None}, "all_batches: must be true or false"),
        (
            {"project_id": "p", "all_batches": True, "batch_ids": ["b"]},
            "batch_ids: give all_batches or batch IDs, not both",
        ),
        (
            {"project_id": "p", "all_batches": True, "batch_id": "b", "batch_ids": ["b"]},
            "batch_id: give all_batches or batch IDs, not both",
        ),
        (
            {"project_id": "p", "batch_id": "b", "batch_ids": ["b"]},
            "batch_id: give batch_id or batch_ids, not both",
        ),
        (
            {"project_id": "p"},
            "batch_ids: is required (or batch_id for one, or all_batches: true)",
        ),
        ({"project_id": "p", "batch_ids": []}, "batch_ids: must be a non-empty list of batch IDs"),
        ({"project_id": "p", "batch_ids": "b"}, "batch_ids: must be a non-empty list of batch IDs"),
        ({"project_id": "p", "batch_ids": ["b", "../x"]}, f"batch_ids[1]: '../x' {ID_RULE}"),
        ({"project_id": "p", "batch_id": "a/b"}, f"batch_id: 'a/b' {ID_RULE}"),
    ],
)
def test_a_bad_input_is_refused_with_a_message_naming_the_field(document, message) -> None:
    # Given an input with one thing wrong / When checked / Then the message says what and where
    with pytest.raises(InvalidInput) as raised:
        ExportRequest.from_input(document)
    assert str(raised.value) == message
    assert raised.value.field == message.split(":", 1)[0]
