"""An invalid ID is named in its error whole up to 40 characters, cut with "..." past them."""

import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.ids import validate_id


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (39, "a/" + "b" * 37),
        (40, "a/" + "b" * 38),
        (41, "a/" + "b" * 38 + "..."),
    ],
)
def test_an_invalid_id_is_shown_whole_up_to_40_characters(length: int, shown: str) -> None:
    # Given an ID with a slash in it, of 39, 40 or 41 characters
    value = "a/" + "b" * (length - 2)
    # When it is checked
    with pytest.raises(InvalidInput) as refused:
        validate_id("batch_id", value)
    # Then the error shows it whole up to 40 characters, and its first 40 and "..." past them
    assert refused.value.field == "batch_id"
    assert str(refused.value).startswith(f"batch_id: {shown!r} is not a valid ID")
