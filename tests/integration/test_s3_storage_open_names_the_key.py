"""S3Storage.open against S3 in moto: a key with no object is refused naming that key."""

from typing import Any

import pytest

from playment_exporter.storage import MissingObject
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


def test_opening_a_missing_key_names_the_key(s3: Any) -> None:
    # Given nothing under b1/none.json
    storage = S3Storage(s3, BUCKET)
    # When it is opened / Then MissingObject names the key
    with pytest.raises(MissingObject) as raised:
        storage.open("b1/none.json")
    storage.close()
    assert raised.value.key == "b1/none.json"
    assert raised.value.message == "no object b1/none.json"
