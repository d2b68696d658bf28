"""The folder adapter's own promises: nothing partial is ever visible, nothing is left in
staging after a stop, no key leads out of the folder."""

import io
import threading
from pathlib import Path

import pytest

from playment_exporter.storage import StorageError
from playment_exporter.storage_folder import STAGING_KEY, FolderStorage
from tests.slow_bodies import Held


@pytest.fixture
def folder(tmp_path: Path) -> FolderStorage:
    return FolderStorage(tmp_path / "out")


def test_a_file_appears_only_when_whole(folder: FolderStorage) -> None:
    # Given a write whose body is half read
    body = Held(b'{"half": ', b"1}")
    writer = threading.Thread(
        target=folder.put, args=("b1/a.json", body), kwargs={"content_type": "application/json"}
    )
    writer.start()
    assert body.started.wait(10)
    # Then nothing is at the key yet, and the listing shows nothing
    assert not (folder.root / "b1" / "a.json").exists()
    assert folder.list("b1/").objects == []
    # When the rest arrives
    body.release.set()
    writer.join(10)
    # Then the file is there whole, and staging is empty
    assert (folder.root / "b1" / "a.json").read_bytes() == b'{"half": 1}'
    assert list((folder.root / STAGING_KEY).iterdir()) == []


def test_a_stop_leaves_nothing_in_staging_and_writes_nothing_more(folder: FolderStorage) -> None:
    # Given a write under way
    body = Held(b"x" * 100, b"y" * 100)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            folder.put("b1/a.json", body, content_type="application/json")
        except StorageError as error:
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    assert body.started.wait(10)
    # When the storage is closed (the run stopping) while it waits, then the body ends
    closing = threading.Thread(target=folder.close)
    closing.start()
    body.release.set()
    closing.join(10)
    writer.join(10)
    # Then the write was refused, nothing is at the key, and staging is gone
    assert [error.code for error in failures] == ["folder_stopping"]  # type: ignore[attr-defined]
    assert not (folder.root / "b1" / "a.json").exists()
    assert not (folder.root / STAGING_KEY).exists()
    # And a write after the stop is refused before it starts
    with pytest.raises(StorageError, match="stopping"):
        folder.put("b1/b.json", b"{}", content_type="application/json")


def test_what_a_killed_run_staged_is_cleared_by_the_next(tmp_path: Path) -> None:
    # Given a staged file a killed run left, and no way for it to be listed
    staged = tmp_path / "out" / STAGING_KEY / "0123abcd"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"partial")
    folder = FolderStorage(tmp_path / "out")
    assert folder.list("_exports/").objects == []
    # When the next run clears staging
    folder.clear_staging()
    # Then it is gone
    assert not staged.exists()


@pytest.mark.parametrize("key", ["../x.json", "/etc/x", "a/../../x", "a//b", "a/./b", ""])
def test_no_key_leads_out_of_the_folder(folder: FolderStorage, key: str) -> None:
    # When a key that is not a plain relative path is written
    # Then it is refused, and nothing is written anywhere
    with pytest.raises(StorageError, match="not a key"):
        folder.put(key, io.BytesIO(b"{}"), content_type="application/json")
    assert not (folder.root.parent / "x.json").exists()
