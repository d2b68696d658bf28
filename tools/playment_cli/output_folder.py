"""``--out``: where it points (``output_target``: a folder, or ``s3://bucket/prefix``); a
folder checked before anything is requested, and left as it was found by a run that wrote
nothing into it.

The check makes the folder (and any missing parent) and writes a probe file into it, then
takes all of that away again: whatever stops a run later (a refused key, an unknown project)
finds the file system as the user left it. A file where the folder should be, a parent that is
a file, a place nothing can be created (``/proc``, ``/sys``), a read-only or full file system,
or no permission: each is one line naming the path and why, exit 2.
"""

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playment_cli.export_flags import UsageError

RECORDS = "_exports"  # the run's own records, beside the results
S3_SCHEME = "s3://"

_WHY = {
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.EROFS: "a read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENOENT: "nothing can be created there",
    errno.ENOTDIR: "a part of it is a file",
}


class OutputFolder:
    """The output folder of one run, and which of its folders the run would be first to make."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._missing = _missing_folders(path)  # deepest first
        self._records_missing = not (path / RECORDS).exists()

    @classmethod
    def check(cls, path: Path) -> "OutputFolder":
        """``path`` as a usable output folder, or ``UsageError`` naming it and why."""
        folder = cls(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out: {path} is a file, not a folder")
        records = path / RECORDS
        if records.exists() and not records.is_dir():
            raise UsageError(f"--out: {records} is a file, where the runs keep their records")
        nearest = next((parent for parent in path.parents if parent.exists()), None)
        if nearest is not None and not nearest.is_dir():
            raise UsageError(f"--out: {nearest} is a file, so {path} cannot be made in it")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            folder.tidy()
            raise UsageError(f"--out: {path} cannot be made: {_why(error)}") from None
        try:
            with tempfile.TemporaryFile(dir=path, prefix=".playment-export-probe-") as probe:
                probe.write(b"probe")
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            raise UsageError(f"--out: {path} cannot be written into: {_why(error)}") from None
        finally:
            folder.tidy()
        return folder

    def tidy(self) -> None:
        """Take away the folders the run made and left empty: ``_exports`` inside, the
        output folder, its parents (never a folder that was there before the run)."""
        made = ([self.path / RECORDS] if self._records_missing else []) + self._missing
        for folder in made:
            try:
                folder.rmdir()
            except OSError:  # not empty, or not there: either way, not ours to take
                continue


def _missing_folders(path: Path) -> list[Path]:
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _why(error: OSError) -> str:
    return _WHY.get(error.errno or 0, error.strerror or type(error).__name__)


@dataclass(frozen=True)
class OutputTarget:
    """Where ``--out`` points: a folder, or a bucket and a results prefix."""

    folder: Path | None = None
    bucket: str = ""
    prefix: str = ""

    def __str__(self) -> str:
        return str(self.folder) if self.folder is not None else f"s3://{self.bucket}/{self.prefix}"


def output_target(value: str) -> OutputTarget:
    """``--out``: a folder path, or ``s3://bucket[/prefix]`` (the prefix ends with ``/``)."""
    if not value.startswith(S3_SCHEME):
        return OutputTarget(folder=Path(value))
    parts = urlsplit(value)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    if not bucket or parts.query or parts.fragment:
        raise UsageError(f"--out: {value!r} is not s3://bucket or s3://bucket/prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if prefix.startswith(f"{RECORDS}/"):
        raise UsageError("--out: the prefix may not start with _exports/ (the run records')")
    return OutputTarget(bucket=bucket, prefix=prefix)
