"""What each error says: outcomes, logs and the execution's cause show these texts."""

import pytest

from playment_exporter.errors import (
    InvalidInput,
    ObjectsLeftBehind,
    PlaymentApiError,
    RejectedBody,
    TransientError,
)
from playment_exporter.referenced_files import ReferencedFileFailed


@pytest.mark.parametrize(
    "kind", [PlaymentApiError, TransientError, RejectedBody, ReferencedFileFailed]
)
def test_an_error_reads_code_colon_message_and_keeps_both(kind) -> None:
    # Given an error made with a code and a message (in the test: made while collecting,
    # mutation testing would not see it)
    error = kind("some_code", "what happened")
    # When shown / Then as "code: message", and both are kept
    assert str(error) == "some_code: what happened"
    assert (error.code, error.message) == ("some_code", "what happened")


def test_invalid_input_names_its_field_first() -> None:
    # Given a bad field / When shown / Then the field leads the message, and is kept
    error = InvalidInput("batch_ids[0]", "is not a valid ID")
    assert (str(error), error.field) == ("batch_ids[0]: is not a valid ID", "batch_ids[0]")


def test_objects_left_behind_names_the_first_ten_and_counts_the_rest() -> None:
    # Given twelve keys S3 would not delete
    left = {f"b1/j/{n:02d}.png": "AccessDenied" for n in range(12)}
    # When shown
    error = ObjectsLeftBehind("s3://bucket", left)
    # Then the first ten are named with S3's code, the other two counted, the bucket named
    shown = ", ".join(f"b1/j/{n:02d}.png (AccessDenied)" for n in range(10))
    assert str(error) == f"12 object(s) left in s3://bucket: {shown} and 2 more"
    assert (error.location, error.left) == ("s3://bucket", left)


def test_objects_left_behind_at_the_limit_names_them_all() -> None:
    # Given exactly ten keys / When shown / Then all are named and nothing is "more"
    left = {f"k{n}": "AccessDenied" for n in range(10)}
    assert str(ObjectsLeftBehind("s3://b", left)).endswith("k9 (AccessDenied)")
