import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import SecretsProvider, base

from playment_exporter.api_key import _reason, api_key_from_secret_string, read_api_key
from playment_exporter.errors import PlaymentAuthError


@pytest.mark.parametrize(
    "stored", ["k-123", "  k-123\n", json.dumps({"api_key": "k-123"}), '{"api_key": " k-123 "}']
)
def test_reads_a_bare_key_or_a_json_document(stored: str) -> None:
    # Given the key stored bare or as {"api_key": ...} / When read / Then the key comes back
    assert api_key_from_secret_string(stored, "arn:secret") == "k-123"


@pytest.mark.parametrize("stored", ["", "   ", "{}", '{"api_key": ""}', "{not json"])
def test_an_unusable_secret_is_an_auth_error_that_names_the_secret(stored: str) -> None:
    # Given a secret with no usable key
    # When read / Then the error names the secret and never echoes its content
    with pytest.raises(PlaymentAuthError) as raised:
        api_key_from_secret_string(stored, "arn:aws:secretsmanager:us-east-1:1:secret:key")
    assert "arn:aws:secretsmanager:us-east-1:1:secret:key" in str(raised.value)
    if stored.strip():
        assert stored not in str(raised.value)


@pytest.fixture
def move_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the clock Powertools' parameter cache reads (``datetime.now()``) on by hand."""
    moved = timedelta()

    class MovedClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + moved

    monkeypatch.setattr(base, "datetime", MovedClock)

    def move(seconds: float) -> None:
        nonlocal moved
        moved += timedelta(seconds=seconds)

    return move


def test_the_key_is_cached_for_five_minutes(monkeypatch, secrets, move_clock) -> None:
    # Given Powertools' default cache lifetime at 5 seconds (its default in Powertools 2, and
    # what a deployment may set for other parameters), and a secret in Secrets Manager, read once
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "5")
    arn = secrets.create_secret(Name="k", SecretString='{"api_key": "first"}')["ARN"]
    container_provider = SecretsProvider(boto3_client=secrets)
    assert read_api_key(container_provider, arn) == "first"
    # When the secret changes and is read again just within five minutes, by the same container
    secrets.put_secret_value(SecretId=arn, SecretString="second")
    move_clock(299)
    # Then the cached value is served: one Secrets Manager call per container per 5 minutes
    assert read_api_key(container_provider, arn) == "first"
    # And another container (its own provider) reads the new value
    assert read_api_key(SecretsProvider(boto3_client=secrets), arn) == "second"
    # And once five minutes are up, so does the first container: a rotated key is picked up
    move_clock(3)
    assert read_api_key(container_provider, arn) == "second"


def test_a_secret_with_no_value_yet_says_what_to_do(secrets) -> None:
    # Given a secret created empty, as the stack creates it
    arn = secrets.create_secret(Name="empty")["ARN"]
    # When the key is read / Then the error names the secret and says to put the key in
    with pytest.raises(PlaymentAuthError) as raised:
        read_api_key(SecretsProvider(boto3_client=secrets), arn)
    assert arn in str(raised.value)
    assert "put the Playment API key into it" in str(raised.value)


def test_a_secret_that_does_not_exist_gets_the_same_advice(secrets) -> None:
    # Given no secret at all under that name
    # When the key is read / Then the error says exactly what to check
    with pytest.raises(PlaymentAuthError) as raised:
        read_api_key(SecretsProvider(boto3_client=secrets), "no-such-secret")
    assert str(raised.value) == (
        "could not read the API key from secret no-such-secret: it has no value yet "
        "(put the Playment API key into it) or does not exist"
    )


def test_another_refusal_is_named_by_its_code(secrets) -> None:
    # Given a secret scheduled for deletion (Secrets Manager refuses to read it)
    arn = secrets.create_secret(Name="going", SecretString="k")["ARN"]
    secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    # When the key is read / Then the error gives Secrets Manager's code
    with pytest.raises(PlaymentAuthError) as raised:
        read_api_key(SecretsProvider(boto3_client=secrets), arn)
    assert str(raised.value).endswith(": InvalidRequestException")


@pytest.mark.parametrize(
    ("cause", "reason"), [(ValueError("bad"), "ValueError"), (None, "GetParameterError")]
)
def test_a_failure_without_an_aws_code_is_named_by_its_type(cause, reason) -> None:
    # Given the parameters utility failing for a reason that is no AWS error
    error = parameters.exceptions.GetParameterError("could not read")
    error.__cause__ = cause
    # When the reason is told / Then it is the underlying exception's type
    assert _reason(error) == reason


def test_a_key_stored_as_binary_is_read_as_text(secrets) -> None:
    # Given the key stored as SecretBinary, as some tools store secrets
    arn = secrets.create_secret(Name="binary", SecretBinary=b"k-123\n")["ARN"]
    # When read / Then it is the key, as text
    assert read_api_key(SecretsProvider(boto3_client=secrets), arn) == "k-123"


def test_an_empty_secret_in_secrets_manager_is_named(secrets) -> None:
    # Given a secret holding only whitespace
    arn = secrets.create_secret(Name="blank", SecretString="   ")["ARN"]
    # When read / Then the error names that secret
    with pytest.raises(PlaymentAuthError, match=f"^secret {arn} is empty"):
        read_api_key(SecretsProvider(boto3_client=secrets), arn)
