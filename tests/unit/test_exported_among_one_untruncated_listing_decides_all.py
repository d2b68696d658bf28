"""An untruncated listing has every key after its start: it answers every job asked about,
those sorting after its last key too (not exported), in that one call."""

from pathlib import Path
from typing import Any

import pytest

from playment_exporter.result_store import ResultStore
from playment_exporter.storage import Listing
from playment_exporter.storage_folder import FolderStorage

DEADLINE = 100.0


class CountedFolderStorage(FolderStorage):
    """A results folder that counts its listing calls."""

    lists = 0

    def list(self, prefix: str, **options: Any) -> Listing:
        self.lists += 1
        return super().list(prefix, **options)


@pytest.fixture
def storage(tmp_path: Path) -> CountedFolderStorage:
    """Results for jobs "a" and "m" of batch "b1", "a" with a folder of referenced files."""
    storage = CountedFolderStorage(tmp_path / "out")
    for key in ("b1/a.json", "b1/a/mask.png", "b1/m.json"):
        storage.put(key, b"{}", content_type="application/json")
    return storage


def test_jobs_after_the_last_listed_key_are_answered_by_the_same_call(
    storage: CountedFolderStorage,
) -> None:
    # Given a clock at the deadline: no call after the first may be made
    store = ResultStore(storage)
    # When the store is asked about "a", "m" and "z" ("z" sorts after every key of the batch)
    found = store.exported_among("b1", ["z", "m", "a"], deadline=DEADLINE, clock=lambda: DEADLINE)
    # Then the one untruncated listing answered all three: "a" and "m" exported, "z" not
    assert (set(found.written), found.unanswered) == ({"a", "m"}, [])
    assert storage.lists == 1


def test_an_untruncated_listing_is_one_call_without_a_deadline(
    storage: CountedFolderStorage,
) -> None:
    # Given no deadline
    store = ResultStore(storage)
    # When the store is asked about "a", "m" and "z"
    found = store.exported_among("b1", ["a", "m", "z"])
    # Then one listing call answered them all
    assert (set(found.written), found.unanswered) == ({"a", "m"}, [])
    assert storage.lists == 1
