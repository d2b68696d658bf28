"""Bodies for the storage tests that a test can hold mid-read: a slow download, in effect."""

import threading


class Held:
    """A body that gives its first bytes, then waits until released (a slow download)."""

    def __init__(self, first: bytes = b'{"half": ', rest: bytes = b"1}") -> None:
        self._parts = [first, rest]
        self.started = threading.Event()
        self.release = threading.Event()

    def read(self, size: int = -1, /) -> bytes:
        if not self._parts:
            return b""
        if len(self._parts) == 1:
            self.started.set()
            self.release.wait(10)
        return self._parts.pop(0)
