"""Where a local run's engine log lives: a temporary file while the run goes, then
``OUT/_exports/<execution>/engine.log`` if the run leaves its records in OUT, or nowhere.

A run that stops before it writes anything (the API refused the key, Playment does not know
the project) leaves OUT as it found it, log included; its one error line says it all. The
log is then only kept when a step crashed in a way no message explains. Moved whole or not at
all: a full disk leaves no half log behind.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

LOG_NAME = "engine.log"


class RunLog:
    """The engine log of one run. Use as a context manager: the temporary file goes at the end."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="playment-export-", suffix=".log")
        os.close(handle)
        self.path = Path(name)

    def keep_in(self, folder: Path) -> Path | None:
        """Move the log into ``folder``; where it is now, or None if it could not be written
        there (a full disk: the run's results matter, not its log)."""
        target = folder / LOG_NAME
        partial = folder / f".{LOG_NAME}.part"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path, partial)
            partial.replace(target)
        except OSError:
            partial.unlink(missing_ok=True)
            return None
        return target

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.discard()
