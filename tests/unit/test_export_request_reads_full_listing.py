"""``"full_listing": true`` reaches the request: an ``all_batches`` export lists every batch,
even those whose details say nothing changed; absent or false, it does not."""

import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.export_request import ExportRequest


@pytest.mark.parametrize("given", [True, False])
def test_full_listing_is_read_from_the_input(given: bool) -> None:
    # Given an all_batches input with full_listing set
    document = {"project_id": "p", "all_batches": True, "full_listing": given}
    # When checked
    request = ExportRequest.from_input(document)
    # Then the request carries it, and only it among the options
    assert request == ExportRequest(project_id="p", all_batches=True, full_listing=given)


def test_full_listing_of_named_batches_is_read_too() -> None:
    # Given an input naming a batch, with full_listing true
    document = {"project_id": "p", "batch_id": "b", "full_listing": True}
    # When checked / Then the request carries it
    assert ExportRequest.from_input(document).full_listing is True


def test_full_listing_must_be_true_or_false() -> None:
    # Given full_listing that is not a boolean
    document = {"project_id": "p", "all_batches": True, "full_listing": "yes"}
    # When checked / Then the refusal names full_listing
    with pytest.raises(InvalidInput) as refused:
        ExportRequest.from_input(document)
    assert str(refused.value) == "full_listing: must be true or false"
