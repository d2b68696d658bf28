import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.ids import validate_id


@pytest.mark.parametrize(
    "value", ["a", "batch-1", "3f3e8675-ca69-46d7-aa34-96f90fcbb732", "A_b-9", "x" * 128]
)
def test_accepts_playment_style_ids(value: str) -> None:
    # Given an ID of letters, digits, '-' and '_' / When checked / Then it comes back unchanged
    assert validate_id("batch_id", value) == value


@pytest.mark.parametrize(
    "value",
    ["", "../x", "a/b", "a b", "x" * 129, "job.json", "é", "a\nb", 123, None, ["a"]],
)
def test_rejects_anything_else_naming_the_field(value: object) -> None:
    # Given a value that could escape an S3 prefix or a URL path, or is not text
    # When it is checked
    with pytest.raises(InvalidInput) as raised:
        validate_id("batch_ids[1]", value)
    # Then the error names the field it came from
    assert raised.value.field == "batch_ids[1]"
    assert str(raised.value).startswith("batch_ids[1]: ")
