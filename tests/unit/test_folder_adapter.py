"""The folder adapter's contract as the domain and the command line rely on it: create-only
writes, whole files, a counted and stoppable writer, S3's listing, and errors that name their
code, key and ``where``. Real files in a temporary folder; the only stand-ins are bodies."""

import errno
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from playment_exporter.errors import AlreadyExported
from playment_exporter.storage import MissingObject, StorageError, read_all
from playment_exporter.storage_folder import COPY_CHUNK, WHERE, FolderStorage
from tests.slow_bodies import Held

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # a file's time, set where a test reads it
LONG_NAME = "n" * 300  # past the 255 bytes a file name may have: ENAMETOOLONG


class Chunked:
    """A body that gives at most the size asked for, and records each size asked."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.asked: list[int] = []

    def read(self, size: int = -1, /) -> bytes:
        self.asked.append(size)
        if size is None or size < 0:  # all of it
            size = len(self._data)
        given, self._data = self._data[:size], self._data[size:]
        return given


class Failing:
    """A body whose read raises an OSError: a spool on a full disk, a file gone."""

    def __init__(self, error: OSError) -> None:
        self._error = error

    def read(self, size: int = -1, /) -> bytes:
        raise self._error


class Writer(threading.Thread):
    """A put on its own thread, keeping the error it ended with."""

    def __init__(self, folder: FolderStorage, key: str, body: Held) -> None:
        super().__init__()
        self._folder, self._key, self._body = folder, key, body
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._folder.put(self._key, self._body, content_type="application/json")
        except BaseException as error:  # noqa: BLE001 - kept for the test to read
            self.error = error


@pytest.fixture
def folder(tmp_path: Path) -> FolderStorage:
    return FolderStorage(tmp_path / "out")


def put(folder: FolderStorage, key: str, body: bytes = b"{}", *, create_only: bool = False) -> None:
    folder.put(key, Chunked(body), content_type="application/json", create_only=create_only)


def staged_files(folder: FolderStorage) -> list[Path]:
    return list(folder.staging.iterdir()) if folder.staging.exists() else []


# -- writing ---------------------------------------------------------------------------------


def test_a_new_folder_has_written_nothing_and_found_no_full_disk(folder: FolderStorage) -> None:
    # Given a folder storage just made
    # Then it has made no object appear, and no write found the disk full
    assert folder.written == 0
    assert folder.no_space is None


def test_each_object_that_appears_is_counted_once(folder: FolderStorage) -> None:
    # When two objects are written, then one of them again create-only (refused)
    put(folder, "b1/a.json")
    put(folder, "b1/b.json")
    with pytest.raises(AlreadyExported):
        put(folder, "b1/a.json", create_only=True)
    # Then the two that appeared are counted, the refused one is not
    assert folder.written == 2


def test_a_body_given_as_bytes_is_stored_as_given(folder: FolderStorage) -> None:
    # When a body is given as bytes, not as a stream
    folder.put("b1/a.json", b'{"bytes": 1}', content_type="application/json")
    # Then the file holds them
    assert (folder.root / "b1" / "a.json").read_bytes() == b'{"bytes": 1}'


def test_a_stream_is_copied_a_chunk_at_a_time(folder: FolderStorage) -> None:
    # Given a body of two and a half chunks
    data = bytes(range(256)) * (COPY_CHUNK * 5 // 2 // 256)
    body = Chunked(data)
    # When it is written
    folder.put("b1/big.json", body, content_type="application/json")
    # Then every read asked for one chunk (memory stays flat), and the file is the body
    assert body.asked == [COPY_CHUNK] * 4
    assert read_all(folder, "b1/big.json") == data


def test_a_create_only_write_to_a_taken_key_is_refused_naming_the_key(
    folder: FolderStorage,
) -> None:
    # Given a file at the key
    put(folder, "b1/a.json", b'{"earlier": 1}')
    # When another body is written there create-only
    with pytest.raises(AlreadyExported) as refused:
        put(folder, "b1/a.json", b"{}", create_only=True)
    # Then the refusal names the key, the file is as it was, and nothing stays staged
    assert refused.value.key == "b1/a.json"
    assert refused.value.code == "already_exported"
    assert read_all(folder, "b1/a.json") == b'{"earlier": 1}'
    assert staged_files(folder) == []


def test_a_key_is_a_path_under_the_folder(folder: FolderStorage) -> None:
    # Then the bucket is the folder's resolved path, and a key's uri is its file's path
    assert folder.bucket == str(folder.root)
    assert folder.root.is_absolute()
    assert folder.uri("b1/a.json") == str(folder.root / "b1" / "a.json")
    assert folder.path_for("b1/a.json") == folder.root / "b1" / "a.json"


@pytest.mark.parametrize("key", ["", "/x.json", "a//b", "a/./b", "a/../../x", "..", "a\0b"])
def test_a_key_that_is_not_a_plain_path_is_refused_as_a_bad_key(
    folder: FolderStorage, key: str
) -> None:
    # When a key that is not a plain relative path (or holds a NUL byte) is written
    with pytest.raises(StorageError) as refused:
        folder.put(key, b"{}", content_type="application/json")
    # Then the output folder refuses it as a bad key, quoting it
    assert refused.value.code == "folder_bad_key"
    assert refused.value.where == WHERE
    assert refused.value.message == f"refusing {key!r}: not a key"
    assert folder.written == 0


def test_a_write_after_a_stop_is_refused_before_it_starts(folder: FolderStorage) -> None:
    # Given a stopped storage
    folder.close()
    # When a write is asked for
    with pytest.raises(StorageError) as refused:
        put(folder, "b1/a.json")
    # Then it is refused as stopping, by the output folder, naming the key
    assert refused.value.code == "folder_stopping"
    assert refused.value.where == WHERE
    assert str(refused.value) == "folder_stopping: the run is stopping: b1/a.json not written"
    assert not (folder.root / "b1").exists()


def test_a_write_under_way_at_a_stop_is_refused_and_leaves_nothing(folder: FolderStorage) -> None:
    # Given a write whose body is half read
    body = Held()
    writer = Writer(folder, "b1/a.json", body)
    writer.start()
    assert body.started.wait(10)
    # When the storage stops, then the body ends
    closing = threading.Thread(target=folder.close, kwargs={"wait_s": 10.0})
    closing.start()
    body.release.set()
    writer.join(10)
    closing.join(10)
    # Then the write was refused as stopping, nothing is at the key, and staging is gone
    assert isinstance(writer.error, StorageError)
    assert writer.error.code == "folder_stopping"
    assert writer.error.where == WHERE
    assert writer.error.message == "the run is stopping: b1/a.json not written"
    assert not (folder.root / "b1" / "a.json").exists()
    assert not folder.staging.exists()


def test_a_stop_waits_for_every_write_under_way(folder: FolderStorage) -> None:
    # Given a write held half way while another one starts and ends
    held = Held()
    writer = Writer(folder, "b1/held.json", held)
    writer.start()
    assert held.started.wait(10)
    put(folder, "b1/quick.json")
    # When the storage stops
    closing = threading.Thread(target=folder.close, kwargs={"wait_s": 10.0})
    closing.start()
    closing.join(0.5)
    # Then it is still waiting for the held write, whose staged file is still there
    assert closing.is_alive()
    assert len(staged_files(folder)) == 1
    # And once that write ends (refused), the stop ends and staging is gone
    held.release.set()
    writer.join(10)
    closing.join(10)
    assert not closing.is_alive()
    assert isinstance(writer.error, StorageError)
    assert not folder.staging.exists()
    assert read_all(folder, "b1/quick.json") == b"{}"


def test_a_stop_after_the_writes_have_ended_does_not_wait(folder: FolderStorage) -> None:
    # Given two writes that have ended
    put(folder, "b1/a.json")
    put(folder, "b1/b.json")
    # When the storage stops, willing to wait long for writes under way
    closing = threading.Thread(target=folder.close, kwargs={"wait_s": 60.0}, daemon=True)
    closing.start()
    closing.join(5)
    # Then it has not waited: the stop has ended, and staging is gone
    assert not closing.is_alive()
    assert not folder.staging.exists()


def test_a_stop_gives_up_waiting_on_a_hung_write_after_wait_s(folder: FolderStorage) -> None:
    # Given a write that hangs half way
    held = Held()
    writer = Writer(folder, "b1/hung.json", held)
    writer.start()
    assert held.started.wait(10)
    # When the storage stops, willing to wait a moment only
    closing = threading.Thread(target=folder.close, kwargs={"wait_s": 0.05}, daemon=True)
    closing.start()
    closing.join(5)
    # Then the stop has ended all the same, and staging is gone
    try:
        assert not closing.is_alive()
        assert not folder.staging.exists()
    finally:
        held.release.set()
        writer.join(10)
        closing.join(10)
    # And the hung write, once it ends, is refused: nothing is at its key
    assert isinstance(writer.error, StorageError)
    assert not (folder.root / "b1" / "hung.json").exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_a_full_disk_is_reported_and_remembered_first_found(
    folder: FolderStorage, code: int
) -> None:
    # When a write fails for want of space, then another one does too
    first = OSError(code, os.strerror(code))
    with pytest.raises(StorageError) as refused:
        folder.put("b1/a.json", Failing(first), content_type="application/json")
    with pytest.raises(StorageError):
        folder.put("b1/b.json", Failing(OSError(code, "again")), content_type="application/json")
    # Then the error is the output folder's, coded by the errno, naming the key
    name = errno.errorcode[code]
    assert refused.value.code == f"folder_{name}"
    assert refused.value.where == WHERE
    assert refused.value.message == f"b1/a.json: {os.strerror(code)}"
    # And the storage remembers the first full-disk error, nothing appeared or stays staged
    assert folder.no_space is first
    assert folder.written == 0
    assert folder.list("b1/").objects == []
    assert staged_files(folder) == []


def test_an_error_that_is_not_a_full_disk_is_not_taken_for_one(folder: FolderStorage) -> None:
    # When a write fails because its file name is too long for the file system
    key = f"b1/{LONG_NAME}.json"
    with pytest.raises(StorageError) as refused:
        put(folder, key, create_only=True)
    # Then it is the output folder's ENAMETOOLONG, naming the key, and the disk is not full
    assert refused.value.code == "folder_ENAMETOOLONG"
    assert refused.value.where == WHERE
    assert refused.value.message == f"{key}: {os.strerror(errno.ENAMETOOLONG)}"
    assert folder.no_space is None
    assert staged_files(folder) == []


def test_an_os_error_without_an_errno_is_reported_as_eio(folder: FolderStorage) -> None:
    # When a write fails with an OSError that carries no errno, only a text
    with pytest.raises(StorageError) as refused:
        folder.put("b1/a.json", Failing(OSError("the spool went away")), content_type="x")
    # Then it is coded EIO, and its message is the key and that text
    assert refused.value.code == "folder_EIO"
    assert refused.value.message == "b1/a.json: the spool went away"
    assert refused.value.where == WHERE


def test_metadata_the_file_system_refuses_fails_the_write(folder: FolderStorage) -> None:
    # When an object is written with a metadata name past what an attribute name may be
    with pytest.raises(StorageError) as refused:
        folder.put(
            "b1/a.json", b"{}", content_type="application/json", metadata={LONG_NAME: "run-1"}
        )
    # Then the write is refused with the system's ERANGE, and nothing appears
    assert refused.value.code == "folder_ERANGE"
    assert not (folder.root / "b1" / "a.json").exists()


def test_a_write_after_staging_was_cleared_stages_again(folder: FolderStorage) -> None:
    # Given a write, then staging cleared (as a new run does)
    put(folder, "b1/a.json")
    folder.clear_staging()
    # When another object is written
    put(folder, "b1/b.json", b'{"b": 1}')
    # Then it appears
    assert read_all(folder, "b1/b.json") == b'{"b": 1}'


def test_clearing_or_closing_a_folder_never_written_is_no_error(folder: FolderStorage) -> None:
    # When staging is cleared and the storage closed before any write
    folder.clear_staging()
    folder.close()
    # Then neither complains, and there is no staging folder
    assert not folder.staging.exists()


def test_delete_of_a_key_that_is_a_folder_is_refused(folder: FolderStorage) -> None:
    # Given a folder where a key's file would be
    put(folder, "b1/a.json")
    # When that key is deleted
    with pytest.raises(StorageError) as refused:
        folder.delete("b1")
    # Then the output folder refuses, coded by the errno, naming the key
    assert refused.value.code == "folder_EISDIR"
    assert refused.value.message == f"b1: {os.strerror(errno.EISDIR)}"
    assert refused.value.where == WHERE
    assert read_all(folder, "b1/a.json") == b"{}"


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["b1/none.json", "b1", "b1/a.json/x"], ids=["no-file", "a-folder", "under-a-file"]
)
def test_a_key_with_no_file_is_missing_to_open_and_to_head(folder: FolderStorage, key: str) -> None:
    # Given a folder b1 holding a file a.json
    put(folder, "b1/a.json")
    # When the key (no file there, a folder, or a path under a file) is opened or headed
    with pytest.raises(MissingObject) as opened:
        folder.open(key)
    with pytest.raises(MissingObject) as headed:
        folder.head(key)
    # Then both say the object is missing, from the output folder, naming the key
    for missing in (opened.value, headed.value):
        assert missing.key == key
        assert missing.code == "folder_missing"
        assert missing.where == WHERE
        assert missing.message == f"no object {key}"


def test_open_of_a_name_the_file_system_refuses_is_a_storage_error(folder: FolderStorage) -> None:
    # Given a folder b1
    put(folder, "b1/a.json")
    # When a key in it whose file name is too long is opened
    key = f"b1/{LONG_NAME}"
    with pytest.raises(StorageError) as refused:
        folder.open(key)
    # Then it is not taken for a missing object: the errno says why, with the key
    assert not isinstance(refused.value, MissingObject)
    assert refused.value.code == "folder_ENAMETOOLONG"
    assert refused.value.message == f"{key}: {os.strerror(errno.ENAMETOOLONG)}"
    assert refused.value.where == WHERE


def test_head_gives_key_size_utc_time_and_metadata(folder: FolderStorage) -> None:
    # Given a five-byte object with metadata, its file's time set
    folder.put("b1/a.json", b"[1,2]", content_type="x", metadata={"export-execution": "run-1"})
    os.utime(folder.path_for("b1/a.json"), (WHEN.timestamp(), WHEN.timestamp()))
    # When it is headed
    stored = folder.head("b1/a.json")
    # Then the head says its key, size, time (in UTC) and metadata
    assert stored.key == "b1/a.json"
    assert stored.size == 5
    assert stored.last_modified == WHEN
    assert stored.last_modified.tzinfo is UTC
    assert stored.metadata == {"export-execution": "run-1"}


# -- listing ---------------------------------------------------------------------------------


def listed(folder: FolderStorage, prefix: str, *, start_after: str = "") -> list[str]:
    return [stored.key for stored in folder.list(prefix, start_after=start_after).objects]


def test_a_listing_from_the_start_includes_keys_that_sort_before_letters(
    folder: FolderStorage,
) -> None:
    # Given keys starting with a digit, a capital and a small letter
    for key in ["a.json", "A.json", "0.json"]:
        put(folder, key)
    # When everything is listed, with no start_after
    listing = folder.list("")
    # Then every key is there, in order
    assert [stored.key for stored in listing.objects] == ["0.json", "A.json", "a.json"]


def test_a_delimiter_other_than_slash_is_refused(folder: FolderStorage) -> None:
    # When a listing folds at '-'
    # Then it is refused, saying a folder folds at '/' only
    with pytest.raises(ValueError, match="a folder folds keys at '/' only, not '-'"):
        folder.list("", delimiter="-")


def test_a_prefix_ending_within_a_name_lists_from_its_folder(folder: FolderStorage) -> None:
    # Given keys in folders, one folder's name ending in X
    for key in ["b1/a.json", "b1/ab.json", "b1/b.json", "b1/a/c/d.json", "TAX/e.json"]:
        put(folder, key)
    # Then a prefix that ends within a name lists the keys that start with it, in order
    assert listed(folder, "b1/a") == ["b1/a.json", "b1/a/c/d.json", "b1/ab.json"]
    assert listed(folder, "b1/a/c/d") == ["b1/a/c/d.json"]
    # And a prefix that is a folder lists that folder, whatever its name ends with
    assert listed(folder, "b1/") == ["b1/a.json", "b1/a/c/d.json", "b1/ab.json", "b1/b.json"]
    assert listed(folder, "TAX/") == ["TAX/e.json"]


def test_a_cut_among_folders_counts_them_and_keeps_them(folder: FolderStorage) -> None:
    # Given two folders and a file after them
    for key in ["a/x.json", "b/y.json", "c.json"]:
        put(folder, key)
    # When two entries are listed, folding at '/'
    cut = folder.list("", delimiter="/", max_keys=2)
    # Then the two folders are the listing, and it says it was cut
    assert cut.folders == ["a/", "b/"]
    assert cut.objects == []
    assert cut.truncated is True


def test_a_whole_listing_says_it_is_not_cut(folder: FolderStorage) -> None:
    # Given one key
    put(folder, "b1/a.json")
    # When its folder is listed
    whole = folder.list("b1/", delimiter="/")
    # Then the listing is whole
    assert whole.truncated is False
    assert whole.folders == []


def test_a_listed_object_has_its_size_and_utc_time(folder: FolderStorage) -> None:
    # Given a five-byte object, its file's time set
    put(folder, "b1/a.json", b"[1,2]")
    os.utime(folder.path_for("b1/a.json"), (WHEN.timestamp(), WHEN.timestamp()))
    # When it is listed
    (stored,) = folder.list("b1/").objects
    # Then the listing says its size and its time in UTC
    assert stored.size == 5
    assert stored.last_modified == WHEN
    assert stored.last_modified.tzinfo is UTC


def test_a_file_gone_while_listed_is_skipped_and_the_rest_listed(folder: FolderStorage) -> None:
    # Given a name whose file is gone by the time it is read (a dangling link), then a file
    put(folder, "b1/b.json")
    (folder.root / "b1" / "a.json").symlink_to(folder.root / "b1" / "gone.json")
    # When the folder is listed
    # Then the gone one is skipped and the listing goes on
    assert listed(folder, "b1/") == ["b1/b.json"]


def test_start_after_a_key_inside_a_folder_lists_the_rest_of_that_folder(
    folder: FolderStorage,
) -> None:
    # Given keys in a folder and after it
    for key in ["b/c.json", "b/c/d.png", "b/e.json", "ba.json"]:
        put(folder, key)
    # When the listing starts after a key inside the folder
    # Then it goes on inside that folder, then past it
    assert listed(folder, "", start_after="b/c.json") == ["b/c/d.png", "b/e.json", "ba.json"]
