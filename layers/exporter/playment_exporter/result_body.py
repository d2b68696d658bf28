"""A result body (or a file it references) read from the signed URL, checked while it streams.

The body goes from the HTTP response to S3 in chunks and is never held whole. Two checks run
on the way, and either one makes the read fail before the last byte is handed over, so the
upload never completes and no object appears: the byte count must match ``Content-Length``
(a cut connection is transient: try again), and the bytes must parse as one JSON document
(a body that is not JSON is permanent).

How the JSON is checked depends on the body. Most results are a few KB and are read whole
(they go up in one PutObject, which holds them in memory anyway): up to ``WHOLE_PARSE_LIMIT``
they are parsed in one go by the standard library's C parser, whose document is dropped at
once. ijson hands every token back to Python as an event, which made checking a 256 KB result
cost 16 ms of CPU against 3 ms whole; and the C parser holds the GIL throughout, so however
many threads check at once, one document at a time is in memory (about ten times the text).
Anything larger, of unknown length, or whose ``url`` fields are wanted is parsed incrementally
by ijson's C parser as it streams, so memory stays flat whatever the size.
"""

import hashlib
import json
from types import TracebackType
from typing import Any, Protocol, Self

import ijson
import urllib3.exceptions
from urllib3 import BaseHTTPResponse

from playment_exporter.errors import RejectedBody, TransientError

PARSE_SLICE = 64 * 1024
WHOLE_PARSE_LIMIT = 1024 * 1024


class _RawStream(Protocol):
    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes: ...

    def close(self) -> None: ...

    def release_conn(self) -> None: ...


class VerifiedBody:
    """A read-only binary file over a streaming urllib3 response (opened with
    ``preload_content=False``); ``bytes_read`` counts what passed.

    A body sent with a ``Content-Encoding`` (gzip, deflate) is decoded as it is read: the
    bytes checked, counted, hashed and stored are the document's. ``Content-Length`` then
    counts the encoded bytes, which urllib3 holds the body to itself (a short body raises)."""

    def __init__(
        self, response: BaseHTTPResponse, *, expect_json: bool = True, collect_urls: bool = False
    ) -> None:
        self._expect_json = expect_json
        self._collect_urls = collect_urls
        self.referenced_urls: list[str] = []
        self._raw: _RawStream = response
        # urllib3's headers are case-insensitive: any spelling of their names finds them.
        length = response.headers.get(
            "Content-Length",  # pragma: no mutate - see above
        )
        encoding = response.headers.get(
            "Content-Encoding",  # pragma: no mutate - see above
            "identity",
        )
        encoded = encoding != "identity"
        self._expected = int(length) if length is not None and not encoded else None
        self.expected_length = self._expected
        self._events: list[Any] = ijson.sendable_list()
        # With collect_urls, the prefixed events say where each string sits, so that every
        # "url" field, however deep, is noticed on the way through: no second parse.
        # Prefixed events for a body whose urls are not wanted would only cost CPU: no test
        # could tell them from the basic ones, which are dropped unread just the same.
        make_parser = (
            ijson.parse_coro  # pragma: no mutate - see above
            if collect_urls
            else ijson.basic_parse_coro
        )
        self._parser = make_parser(self._events)
        self._finished = False  # pragma: no mutate - None is as false as False
        self.bytes_read = 0
        self._digest = hashlib.sha256()  # of the bytes read, as they pass: no second read
        self._parse_whole = (
            not collect_urls and self._expected is not None and self._expected <= WHOLE_PARSE_LIMIT
        )

    def readable(self) -> bool:
        return True

    @property
    def sha256(self) -> str:
        """The SHA-256 (hex) of every byte read so far: of the whole body once it is read."""
        return self._digest.hexdigest()

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all if negative), filling short reads, checking as it goes."""
        if self._finished:
            return b""
        if size < 0 and self.bytes_read == 0 and self._parse_whole:
            return self._read_whole()
        wanted = size if size >= 0 else None
        chunks: list[bytes] = []
        got = 0
        while wanted is None or got < wanted:
            chunk = self._read_raw(None if wanted is None else wanted - got)
            if not chunk:
                self._finish()
                break
            self._feed(chunk)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_whole(self) -> bytes:
        chunks: list[bytes] = []
        while chunk := self._read_raw(None):
            self.bytes_read += len(chunk)
            self._digest.update(chunk)
            chunks.append(chunk)
        data = b"".join(chunks)
        self._finished = True
        if self._expected is not None and self.bytes_read != self._expected:
            raise self._cut_short("short of Content-Length")
        if self._expect_json:
            if not data:
                raise RejectedBody("invalid_json", "the result is empty")
            try:
                _CHECKER.decode(data.decode())  # UTF-8
            except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
                raise RejectedBody("invalid_json", f"the result is not JSON: {error}") from None
        return data

    def _read_raw(self, amount: int | None) -> bytes:
        try:
            return self._raw.read(
                amount,
                # The client opens every response with urllib3's decode_content=True, which
                # None (or no argument) falls back to: the same bytes.
                decode_content=True,  # pragma: no mutate - see above
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise self._cut_short(type(error).__name__) from None

    def _feed(self, chunk: bytes) -> None:
        self.bytes_read += len(chunk)
        self._digest.update(chunk)
        if self._expected is not None and self.bytes_read > self._expected:
            raise RejectedBody("body_too_long", f"more bytes than Content-Length {self._expected}")
        if not self._expect_json:
            return
        view = memoryview(chunk)
        try:
            # In slices: the parser's events pile up until cleared, a few per token.
            for start in range(0, len(view), PARSE_SLICE):
                self._parser.send(bytes(view[start : start + PARSE_SLICE]))
                self._take_events()
        except ijson.JSONError as error:
            raise RejectedBody("invalid_json", f"the result is not JSON: {error}") from None

    def _take_events(self) -> None:
        if self._collect_urls:
            for prefix, event, value in self._events:
                if event == "string" and (prefix == "url" or prefix.endswith(".url")):
                    self.referenced_urls.append(value)
        self._events.clear()

    def _cut_short(self, how: str) -> TransientError:
        """A body that ended early: transient, since a fresh download may well complete."""
        if self._expected is None:
            return TransientError(
                "body_interrupted", f"the download broke off after {self.bytes_read} bytes ({how})"
            )
        return TransientError(
            "truncated_body", f"got {self.bytes_read} of {self._expected} bytes ({how})"
        )

    def _finish(self) -> None:
        # A read after the end (which no caller makes) would only reach the same verdict again.
        self._finished = True  # pragma: no mutate - see above
        if self._expected is not None and self.bytes_read != self._expected:
            raise self._cut_short("short of Content-Length")
        if not self._expect_json:
            return
        if self.bytes_read == 0:
            raise RejectedBody("invalid_json", "the result is empty")
        try:
            self._parser.close()
            self._take_events()
        except ijson.JSONError as error:
            raise RejectedBody("invalid_json", f"the result is not JSON: {error}") from None

    def close(self) -> None:
        """Done with the response: a body read to its end has given its connection back to
        the pool already; one left unread has its connection closed (its unread bytes would
        be taken for the next answer), and its place in the pool freed."""
        self._raw.close()
        self._raw.release_conn()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _reject_constant(name: str) -> Any:
    """``NaN``, ``Infinity``: Python's parser takes them, JSON (and ijson) does not."""
    raise ValueError(f"{name} is not JSON")


# UTF-8 only (the bytes are decoded as such), as RFC 8259 and ijson want it.
_CHECKER = json.JSONDecoder(parse_constant=_reject_constant)
