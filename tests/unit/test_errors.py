"""What each error says: outcomes, logs and the execution's cause show these texts."""

import inspect
import json
from pathlib import Path

import pytest

from playment_exporter import errors
from playment_exporter.errors import (
    STATE_MACHINE_ERRORS,
    ExporterError,
    InvalidInput,
    ObjectsLeftBehind,
    PlaymentApiError,
    RejectedBody,
    TransientError,
)
from playment_exporter.referenced_files import ReferencedFileFailed

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "export.asl.json"
# Error names the service and its integrations give, not the exporter's classes.
SERVICE_ERROR_PREFIXES = ("States.", "Lambda.", "Sandbox.", "EventBridge.")


def _error_names(node: object) -> set[str]:
    if isinstance(node, dict):
        found = set(node.get("ErrorEquals", []))
        for value in node.values():
            found |= _error_names(value)
        return found
    if isinstance(node, list):
        return set().union(*(_error_names(value) for value in node))
    return set()


def test_every_error_the_domain_raises_is_one_type_with_a_code_and_a_message() -> None:
    # Given every exception class errors.py defines, and the referenced files' own
    kinds = [
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, Exception) and kind.__module__ == errors.__name__
    ]
    kinds.append(ReferencedFileFailed)
    # Then each is an ExporterError: a caller catches that one type
    assert len(kinds) >= 10
    assert all(issubclass(kind, ExporterError) for kind in kinds)
    # And the ones made without a code carry one of their own, and their message
    made = [
        InvalidInput("batch_id", "is empty"),
        errors.PlaymentAuthError("the key was refused"),
        errors.PlaymentUnreachable("http://x", "refused"),
        errors.AlreadyExported("b1/j1.json"),
        ObjectsLeftBehind("s3://b", {"k": "AccessDenied"}),
        errors.ResultsBucketUnusable("in another region"),
    ]
    assert [error.code for error in made] == [
        "invalid_input",
        "auth_failed",
        "playment_unreachable",
        "already_exported",
        "cleanup_failed",
        "results_bucket_unusable",
    ]
    assert [str(error) for error in made] == [
        "batch_id: is empty",
        "the key was refused",
        "no Playment API answers at http://x: refused",
        "b1/j1.json",
        "1 object(s) left in s3://b: k (AccessDenied)",
        "in another region",
    ]
    assert all(error.message for error in made)


def test_the_state_machine_reads_exactly_the_names_of_the_exporters_verdict_errors() -> None:
    # Given the error names the definition's Retry and Catch match
    names = _error_names(json.loads(ASL_PATH.read_text(encoding="utf-8")))
    ours = {name for name in names if not name.startswith(SERVICE_ERROR_PREFIXES)}
    # Then those that are not the service's are the class names of the exporter's verdicts
    assert ours == {kind.__name__ for kind in STATE_MACHINE_ERRORS}
    assert ours == {"InvalidInput", "PlaymentAuthError", "ResultsBucketUnusable"}
    assert all(issubclass(kind, ExporterError) for kind in STATE_MACHINE_ERRORS)


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
