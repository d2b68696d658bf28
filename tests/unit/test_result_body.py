"""The result body's checks give the same verdict whether the body is read whole (one C parse)
or streamed (ijson, incrementally): what is JSON passes, what is not never gets through."""

import gzip
import io
import json

import pytest
import urllib3
from urllib3 import HTTPHeaderDict

from playment_exporter.errors import RejectedBody, TransientError
from playment_exporter.result_body import WHOLE_PARSE_LIMIT, VerifiedBody


class FakeResponse:
    """What VerifiedBody reads from a urllib3 response: headers (case-insensitive, as urllib3
    has them), reads, and the two calls that end it."""

    def __init__(
        self,
        body: bytes,
        length: int | None = None,
        *,
        most: int | None = None,
        then: Exception | None = None,
    ) -> None:
        self.headers = HTTPHeaderDict({} if length is None else {"Content-Length": str(length)})
        self.read = _Raw(body, most=most, then=then).read
        self.closed = False
        self.released = False

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        self.released = True


class _Raw:
    """The body, at most ``most`` bytes a read if given (as a socket may hand over less than
    asked); once it is out, ``then`` is raised if given (the connection broke)."""

    def __init__(self, body: bytes, *, most: int | None, then: Exception | None) -> None:
        self._stream = io.BytesIO(body)
        self._most = most
        self._then = then

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        size = -1 if amt is None else amt
        if self._most is not None:
            size = self._most if size < 0 else min(size, self._most)
        chunk = self._stream.read(size)
        if not chunk and size != 0 and self._then is not None:
            raise self._then
        return chunk


def gzip_response(document: bytes, *, cut: int = 0) -> urllib3.HTTPResponse:
    """A gzip-encoded answer as the client opens it (``preload_content=False``), its
    Content-Length counting the encoded bytes; ``cut`` bytes short of it if asked."""
    encoded = gzip.compress(document)
    return urllib3.HTTPResponse(
        body=io.BytesIO(encoded[: len(encoded) - cut]),
        headers={"Content-Encoding": "gzip", "Content-Length": str(len(encoded))},
        status=200,
        preload_content=False,
    )


def read_whole(body: bytes, **options: bool) -> tuple[bytes, VerifiedBody]:
    verified = VerifiedBody(FakeResponse(body, len(body)), **options)  # type: ignore[arg-type]
    return verified.read(), verified


def read_streamed(body: bytes, **options: bool) -> tuple[bytes, VerifiedBody]:
    verified = VerifiedBody(FakeResponse(body, len(body)), **options)  # type: ignore[arg-type]
    return b"".join(iter(lambda: verified.read(7), b"")), verified


def drain(verified: VerifiedBody, size: int) -> None:
    while verified.read(size):
        pass


READS = pytest.mark.parametrize("read", [read_whole, read_streamed], ids=["whole", "streamed"])
NOT_JSON = [
    b'{"a": 1',
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"[1, 2,]",
    b'{"a": "\xff"}',
    b"{} {}",
    b"\xef\xbb\xbf{}",
]


@READS
@pytest.mark.parametrize("body", [b"{}", b'{"a": [1, 2.5, "x", null, true]}', b'"text"', b"12"])
def test_json_passes_unchanged(read, body) -> None:
    # Given a JSON body / When it is read / Then every byte comes through, counted
    data, verified = read(body)
    assert data == body
    assert verified.bytes_read == len(body)


@READS
@pytest.mark.parametrize("body", NOT_JSON)
def test_what_is_not_json_is_rejected(read, body) -> None:
    # Given a body that is not one JSON document / When it is read / Then it is refused
    with pytest.raises(RejectedBody) as refused:
        read(body)
    assert refused.value.code == "invalid_json"
    assert refused.value.message.startswith("the result is not JSON: ")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_constant_that_json_lacks_is_named_when_read_whole(constant: str) -> None:
    # Given a small body with a constant Python's parser would take but JSON has not
    body = f'{{"a": {constant}}}'.encode()
    # When it is read whole / Then the refusal names the constant
    with pytest.raises(RejectedBody) as refused:
        read_whole(body)
    assert refused.value.message == f"the result is not JSON: {constant} is not JSON"


@READS
def test_an_empty_body_is_rejected(read) -> None:
    # Given a body of no bytes / When it is read / Then it is refused as no JSON, saying why
    with pytest.raises(RejectedBody) as refused:
        read(b"")
    assert (refused.value.code, refused.value.message) == ("invalid_json", "the result is empty")


@pytest.mark.parametrize("read_size", [-1, 3])
def test_a_body_shorter_than_its_length_is_transient(read_size) -> None:
    # Given a response that promises more bytes than it sends
    verified = VerifiedBody(FakeResponse(b"{}", length=10))  # type: ignore[arg-type]
    # When it is read / Then the cut is reported as transient (a fresh download may complete)
    with pytest.raises(TransientError) as cut:
        drain(verified, read_size)
    assert (cut.value.code, cut.value.message) == (
        "truncated_body",
        "got 2 of 10 bytes (short of Content-Length)",
    )


def test_a_body_longer_than_its_length_is_rejected() -> None:
    # Given a response that sends more bytes than its Content-Length says
    verified = VerifiedBody(FakeResponse(b'{"a": 1}', length=3))  # type: ignore[arg-type]
    # When it is streamed / Then it is refused before the extra bytes are handed over
    with pytest.raises(RejectedBody) as refused:
        drain(verified, 7)
    assert (refused.value.code, refused.value.message) == (
        "body_too_long",
        "more bytes than Content-Length 3",
    )


@pytest.mark.parametrize(
    "error",
    [
        urllib3.exceptions.ProtocolError("Connection broken"),
        urllib3.exceptions.ReadTimeoutError(None, "/r.json", "Read timed out."),  # type: ignore[arg-type]
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda error: type(error).__name__,
)
@pytest.mark.parametrize(
    ("length", "code", "message"),
    [
        (None, "body_interrupted", "the download broke off after 4 bytes ({how})"),
        (10, "truncated_body", "got 4 of 10 bytes ({how})"),
    ],
    ids=["unknown-length", "known-length"],
)
@pytest.mark.parametrize("read_size", [-1, 3])
def test_a_connection_that_breaks_off_is_transient_naming_how_far_it_got(
    error: Exception, length: int | None, code: str, message: str, read_size: int
) -> None:
    # Given a download that breaks off after 4 bytes, of unknown length or of 10
    response = FakeResponse(b"[1, ", length, then=error)
    verified = VerifiedBody(response)  # type: ignore[arg-type]
    # When it is read / Then the cut is transient, saying how far it got and what broke it
    with pytest.raises(TransientError) as cut:
        drain(verified, read_size)
    assert (cut.value.code, cut.value.message) == (
        code,
        message.format(how=type(error).__name__),
    )


@pytest.mark.parametrize("length", [8, None], ids=["known-length", "unknown-length"])
def test_a_read_of_no_bytes_takes_none(length: int | None) -> None:
    # Given a small body, of known length (read whole) or not (streamed)
    verified = VerifiedBody(FakeResponse(b'{"a": 1}', length))  # type: ignore[arg-type]
    # When no bytes are asked for / Then none come, and the whole body is still there after
    assert verified.read(0) == b""
    assert verified.read() == b'{"a": 1}'


@pytest.mark.parametrize("length", [21, None], ids=["known-length", "unknown-length"])
def test_short_reads_are_filled_to_the_size_asked(length: int | None) -> None:
    # Given a stream that hands over at most 3 bytes a read, as a socket may
    body = b'{"frames": [1, 2, 3]}'
    verified = VerifiedBody(FakeResponse(body, length, most=3))  # type: ignore[arg-type]
    # When it is read 7 bytes at a time
    pieces = list(iter(lambda: verified.read(7), b""))
    # Then each read gives the 7 bytes asked, and together they are the body, counted
    assert [len(piece) for piece in pieces] == [7, 7, 7]
    assert b"".join(pieces) == body
    assert verified.bytes_read == len(body)


def test_a_body_read_whole_from_short_reads_comes_through_counted() -> None:
    # Given a small body of known length from a stream that hands over 3 bytes a read
    body = b'{"frames": [1, 2, 3]}'
    verified = VerifiedBody(FakeResponse(body, len(body), most=3))  # type: ignore[arg-type]
    # When it is read whole / Then every byte comes through, and every byte is counted
    assert verified.read() == body
    assert verified.bytes_read == len(body)


@READS
def test_a_body_read_to_its_end_reads_empty_after(read) -> None:
    # Given a body read to its end, whole or in pieces
    _, verified = read(b'{"a": 1}')
    # When it is read again / Then it gives no bytes and no error, as a file at its end
    assert verified.read() == b""
    assert verified.read(7) == b""


def test_a_gzip_body_is_checked_decoded_and_hints_no_size() -> None:
    # Given a gzip-encoded JSON result, whose Content-Length counts the encoded bytes
    document = json.dumps({"labels": ["car"] * 200}).encode()
    verified = VerifiedBody(gzip_response(document))
    # When it is read
    data = verified.read()
    # Then the decoded JSON comes through, counted as decoded, and the encoded length is no
    # size hint for the store (urllib3 checks that length itself)
    assert data == document
    assert verified.bytes_read == len(document)
    assert verified.expected_length is None


def test_a_gzip_body_cut_short_is_transient() -> None:
    # Given a gzip-encoded result that breaks off 10 bytes short of its encoded length
    document = json.dumps({"labels": ["car"] * 200}).encode()
    verified = VerifiedBody(gzip_response(document, cut=10))
    # When it is streamed / Then the cut is transient (urllib3 holds it to its encoded length)
    with pytest.raises(TransientError) as cut:
        drain(verified, 64)
    assert cut.value.code == "body_interrupted"


@pytest.mark.parametrize("read_to_end", [True, False], ids=["read", "unread"])
def test_closing_gives_the_connection_back_and_closes_it_if_unread(read_to_end: bool) -> None:
    # Given a body read to its end, or left unread
    response = FakeResponse(b"{}", 2)
    verified = VerifiedBody(response)  # type: ignore[arg-type]
    if read_to_end:
        verified.read()
    # When it is closed / Then the response is closed and its connection given back
    verified.close()
    assert (response.closed, response.released) == (True, True)


def test_an_unencoded_body_hints_its_content_length() -> None:
    # Given a body of known length, not encoded / When it is opened
    verified = VerifiedBody(FakeResponse(b"{}", 2))  # type: ignore[arg-type]
    # Then its Content-Length is the size hint the store picks its upload by
    assert verified.expected_length == 2


def test_only_small_bodies_of_known_length_are_parsed_whole() -> None:
    # Given bodies at and over the limit, of unknown length, and with urls wanted
    small = VerifiedBody(FakeResponse(b"{}", WHOLE_PARSE_LIMIT))  # type: ignore[arg-type]
    large = VerifiedBody(FakeResponse(b"{}", WHOLE_PARSE_LIMIT + 1))  # type: ignore[arg-type]
    unknown = VerifiedBody(FakeResponse(b"{}"))  # type: ignore[arg-type]
    urls = VerifiedBody(FakeResponse(b"{}", 2), collect_urls=True)  # type: ignore[arg-type]
    # Then only the first takes the one-parse path
    assert [body._parse_whole for body in (small, large, unknown, urls)] == [
        True,
        False,
        False,
        False,
    ]


def test_urls_are_collected_in_document_order_when_asked() -> None:
    # Given a segmentation-like result with url fields at several depths
    document = {"url": "https://f/a.png", "frames": [{"url": "https://f/b.pcd"}], "x": {"url": 3}}
    body = json.dumps(document).encode()
    # When it is read whole with urls wanted
    _, verified = read_whole(body, collect_urls=True)
    # Then both string urls are found, in order
    assert verified.referenced_urls == ["https://f/a.png", "https://f/b.pcd"]
