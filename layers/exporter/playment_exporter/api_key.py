"""The Playment API key, read from Secrets Manager through Powertools' parameters utility.

Cached for five minutes per container: one Secrets Manager call per container per five
minutes, whatever the number of pages, and a rotated key is picked up soon after.
"""

import json

from aws_lambda_powertools.utilities import parameters

from playment_exporter.errors import PlaymentAuthError

CACHE_SECONDS = 300


def read_api_key(secrets: parameters.SecretsProvider, secret_id: str) -> str:
    """The key from the secret, stored bare or as ``{"api_key": "..."}``, read through the
    container's own provider (its client carries the function's role, and its cache is the
    container's).

    Raises ``PlaymentAuthError`` when the secret holds no usable key; the message names the
    secret, never its value.
    """
    try:
        value = secrets.get(secret_id, max_age=CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        # A secret created by the stack has no value until someone puts the key in.
        raise PlaymentAuthError(
            f"could not read the API key from secret {secret_id}: {_reason(error)}"
        ) from None
    if isinstance(value, bytes):
        value = value.decode()  # UTF-8
    return api_key_from_secret_string(str(value), secret_id)


def api_key_from_secret_string(value: str, secret_id: str) -> str:
    text = value.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise PlaymentAuthError(
                f"secret {secret_id} looks like JSON but does not parse"
            ) from None
        key = document.get("api_key")  # text that starts with "{" parses to an object
        if not isinstance(key, str) or not key.strip():
            raise PlaymentAuthError(f'secret {secret_id} has no "api_key" field with a value')
        return key.strip()
    if not text:
        raise PlaymentAuthError(f"secret {secret_id} is empty: put the Playment API key into it")
    return text


def _reason(error: Exception) -> str:
    cause = error.__cause__ or error.__context__ or error
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    if code == "ResourceNotFoundException":
        return "it has no value yet (put the Playment API key into it) or does not exist"
    return code or type(cause).__name__
