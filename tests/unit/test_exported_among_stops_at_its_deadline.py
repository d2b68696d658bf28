"""Asking which jobs are exported makes no further listing call once its clock reads the
deadline itself, not only past it: the jobs not reached are left unanswered."""

from pathlib import Path

import pytest

from playment_exporter.result_store import ResultStore
from playment_exporter.storage import LIST_PAGE_KEYS
from playment_exporter.storage_folder import FolderStorage

DEADLINE = 100.0


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    """Results for jobs "a" and "c" of batch "b1", a listing call's worth of others between
    them: a first call answers "a" only, "c" needs a second."""
    storage = FolderStorage(tmp_path / "out")
    keys = ["b1/a.json", "b1/c.json"] + [f"b1/b-{n:04d}.json" for n in range(LIST_PAGE_KEYS)]
    for key in keys:
        storage.put(key, b"{}", content_type="application/json")
    return ResultStore(storage)


def test_no_call_is_begun_with_the_clock_at_the_deadline(store: ResultStore) -> None:
    # Given a clock that reads the deadline itself
    # When the store is asked about "a" and "c"
    found = store.exported_among("b1", ["c", "a"], deadline=DEADLINE, clock=lambda: DEADLINE)
    # Then the first call answered "a", and no second call was made for "c"
    assert (set(found.written), found.unanswered) == ({"a"}, ["c"])


def test_a_call_is_begun_with_the_clock_just_before_the_deadline(store: ResultStore) -> None:
    # Given a clock that reads just before the deadline
    # When the store is asked about "a" and "c"
    found = store.exported_among("b1", ["c", "a"], deadline=DEADLINE, clock=lambda: 99.9)
    # Then a second call answered "c" too
    assert (set(found.written), found.unanswered) == ({"a", "c"}, [])
