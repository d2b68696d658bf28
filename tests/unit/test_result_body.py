"""The result body's checks give the same verdict whether the body is read whole (one C parse)
or streamed (ijson, incrementally): what is JSON passes, what is not never gets through."""

import io
import json

import pytest

from playment_exporter.errors import RejectedBody, TransientError
from playment_exporter.result_body import WHOLE_PARSE_LIMIT, VerifiedBody


class FakeResponse:
    """What VerifiedBody reads from a ``requests`` response: headers and the raw stream."""

    def __init__(self, body: bytes, length: int | None = None) -> None:
        self.headers = {} if length is None else {"Content-Length": str(length)}
        self.raw = _Raw(body)
        self.closed = False

    def close(self) -> None:
        self.closed = True


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._stream = io.BytesIO(body)

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        return self._stream.read(amt if amt is not None else -1)


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


@READS
def test_an_empty_body_is_rejected(read) -> None:
    with pytest.raises(RejectedBody, match="empty"):
        read(b"")


@pytest.mark.parametrize("read_size", [-1, 3])
def test_a_body_shorter_than_its_length_is_transient(read_size) -> None:
    # Given a response that promises more bytes than it sends
    verified = VerifiedBody(FakeResponse(b"{}", length=10))  # type: ignore[arg-type]
    # When it is read / Then the cut is reported as transient (a fresh download may complete)
    with pytest.raises(TransientError) as cut:
        drain(verified, read_size)
    assert cut.value.code == "truncated_body"


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
