"""Which execution names the run records take: Step Functions' own charset, 1 to 80
characters, but not names made only of dots (``.`` and ``..`` are no key part to write under)."""

import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.run_records import validate_execution_name


@pytest.mark.parametrize("name", ["run-3", "A.b_c-9", ".hidden", "a..b", "x" * 80])
def test_a_name_of_the_charset_is_taken_as_it_is(name: str) -> None:
    # Given a name of letters, digits, dots, dashes and underscores, not only dots
    # When checked
    taken = validate_execution_name(name)
    # Then it is the name given
    assert taken == name


@pytest.mark.parametrize("name", [".", "..", "....."])
def test_a_name_made_only_of_dots_is_refused(name: str) -> None:
    # Given a name of the charset made only of dots
    # When checked / Then it is refused, naming the execution and the name
    with pytest.raises(InvalidInput) as refused:
        validate_execution_name(name)
    assert refused.value.field == "execution"
    assert str(refused.value) == f"execution: {name!r} is not a usable execution name"


@pytest.mark.parametrize("name", ["a/b", "run 3", "run:3", "ünïcode", "", "x" * 81])
def test_a_name_outside_the_charset_or_length_is_refused(name: str) -> None:
    # Given a name with a character outside the charset, empty, or of 81 characters
    # When checked / Then it is refused, naming the execution and the name
    with pytest.raises(InvalidInput) as refused:
        validate_execution_name(name)
    assert refused.value.field == "execution"
    assert str(refused.value) == f"execution: {name!r} is not a usable execution name"


@pytest.mark.parametrize("name", [None, 42, ["run-3"]])
def test_a_name_that_is_not_a_string_is_refused(name: object) -> None:
    # Given an execution name that is not a string (a state machine input gone wrong)
    # When checked / Then it is refused as input, not failing on the regular expression
    with pytest.raises(InvalidInput) as refused:
        validate_execution_name(name)
    assert str(refused.value) == f"execution: {name!r} is not a usable execution name"
