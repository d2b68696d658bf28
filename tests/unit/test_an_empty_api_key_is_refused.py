"""A client is not made with an empty key: every request would be refused anyway."""

import pytest

from playment_exporter.errors import PlaymentAuthError
from playment_exporter.playment_client import PlaymentClient


def test_an_empty_api_key_is_refused_saying_where_to_put_it() -> None:
    # Given an empty key, as an empty secret reads
    key = ""
    # When a client is made with it
    with pytest.raises(PlaymentAuthError) as raised:
        PlaymentClient("https://api.invalid/v1", key)
    # Then the error says the key is empty and where it belongs, word for word
    assert str(raised.value) == "the Playment API key is empty: put the key into the secret"
    assert raised.value.code == "auth_failed"
