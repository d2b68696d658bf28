"""Deterministic job result documents: small realistic ones, and large ones streamed exactly."""

import hashlib
import json
import random
from collections.abc import Iterator

CHUNK_SIZE = 64 * 1024
"""Bytes per chunk when a body is streamed."""

_LABELS = ("car", "pedestrian", "truck", "cyclist", "traffic_light", "bus", "motorbike")
_MIN_BODY_SIZE = 2  # "{}"


def _rng_for(job_id: str, purpose: str) -> random.Random:
    """A generator seeded from the job id alone, so bodies never depend on run order."""
    digest = hashlib.sha256(f"{purpose}:{job_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _rectangle(rng: random.Random) -> dict[str, float]:
    x, y = rng.uniform(0.0, 0.8), rng.uniform(0.0, 0.8)
    return {
        "xmin": round(x, 4),
        "ymin": round(y, 4),
        "xmax": round(x + rng.uniform(0.02, 0.2), 4),
        "ymax": round(y + rng.uniform(0.02, 0.2), 4),
    }


def small_body(job_id: str) -> bytes:
    """A compact image-annotation result of one to two KB, different for every job id."""
    rng = _rng_for(job_id, "small")
    annotations = [
        {
            "id": f"{rng.getrandbits(64):016x}",
            "label": rng.choice(_LABELS),
            "type": "rectangle",
            "coordinates": _rectangle(rng),
            "attributes": {"occluded": rng.random() < 0.2, "truncated": rng.random() < 0.1},
            "source": "manual",
        }
        for _ in range(small_annotation_count(job_id))
    ]
    document = {"data": {"annotations": annotations}, "job_id": job_id}
    return json.dumps(document, separators=(",", ":")).encode()


def segmentation_body(job_id: str, urls: list[str]) -> bytes:
    """A segmentation result: a legend, and ``url`` fields (top level and per frame) that
    point at the job's private mask and point-cloud files."""
    rng = _rng_for(job_id, "segmentation")
    legend = {label: [rng.randrange(256) for _ in range(3)] for label in _LABELS[:4]}
    document: dict[str, object] = {"legend": legend, "url": urls[0], "job_id": job_id}
    if len(urls) > 1:
        document["frames"] = [{"frame": n, "url": url} for n, url in enumerate(urls[1:])]
    return json.dumps(document, separators=(",", ":")).encode()


def referenced_file_body(job_id: str, name: str) -> bytes:
    """A file's deterministic bytes: a PNG signature or a PCD header, then seeded data."""
    rng = _rng_for(job_id, f"file:{name}")
    size = rng.randint(3_000, 20_000)
    if name.endswith(".pcd"):
        head = b"# .PCD v0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nDATA binary\n"
    else:
        head = b"\x89PNG\r\n\x1a\n"
    return head + rng.randbytes(size)


def small_annotation_count(job_id: str) -> int:
    return _rng_for(job_id, "count").randint(6, 9)


class LargeBody:
    """A valid JSON document of exactly ``size`` bytes, generated as it is streamed.

    Layout: ``{"job_id":...,"data":{"annotations":[R,R,...]}`` then space padding, then the
    final ``}``. Records cycle through a small seeded set of shapes, each with its own index,
    so no chunk is held beyond the one being sent.
    """

    _CYCLE = 64
    _ID_WIDTH = 10

    def __init__(self, job_id: str, size: int) -> None:
        if size < _MIN_BODY_SIZE:
            raise ValueError(f"a JSON body needs at least {_MIN_BODY_SIZE} bytes, got {size}")
        self.size = size
        self._head = b'{"job_id":' + json.dumps(job_id).encode() + b',"data":{"annotations":['
        self._tail = b"]}"
        rng = _rng_for(job_id, "large")
        self._shapes = [self._shape(rng) for _ in range(self._CYCLE)]
        self.annotation_count = self._count_records()

    @staticmethod
    def _shape(rng: random.Random) -> bytes:
        shape = {"label": rng.choice(_LABELS), "type": "rectangle", "coordinates": _rectangle(rng)}
        return b'",' + json.dumps(shape, separators=(",", ":")).encode()[1:]

    def _record(self, index: int) -> bytes:
        return b'{"id":"%0*d%s' % (self._ID_WIDTH, index, self._shapes[index % self._CYCLE])

    def _count_records(self) -> int:
        """How many records fit, leaving room for the head, the tail and the final brace."""
        room = self.size - len(self._head) - len(self._tail) - 1
        if room < 0:
            return 0
        # Every record but the first is preceded by a comma: count it with its record.
        units = [len(self._record(i)) + 1 for i in range(self._CYCLE)]
        budget = room + 1
        full_cycles, budget = divmod(budget, sum(units))
        count = full_cycles * self._CYCLE
        for unit in units:
            if unit > budget:
                break
            budget -= unit
            count += 1
        return count

    def chunks(self) -> Iterator[bytes]:
        """The body in chunks of about ``CHUNK_SIZE`` bytes, exactly ``size`` bytes in all."""
        if len(self._head) + len(self._tail) + 1 > self.size:
            yield from _padded(b"{", self.size - 2, b"}")
            return
        sent = 0
        pending: list[bytes] = [self._head]
        pending_size = len(self._head)
        for index in range(self.annotation_count):
            record = self._record(index) if index == 0 else b"," + self._record(index)
            pending.append(record)
            pending_size += len(record)
            if pending_size >= CHUNK_SIZE:
                yield b"".join(pending)
                sent += pending_size
                pending, pending_size = [], 0
        pending.append(self._tail)
        sent += pending_size + len(self._tail)
        yield from _padded(b"".join(pending), self.size - sent - 1, b"}")


def _padded(prefix: bytes, padding: int, suffix: bytes) -> Iterator[bytes]:
    """``prefix``, ``padding`` spaces and ``suffix``, in chunks of at most ``CHUNK_SIZE``."""
    first_room = max(CHUNK_SIZE - len(prefix), 0)
    first_pad = min(padding, first_room)
    yield prefix + b" " * first_pad
    remaining = padding - first_pad
    while remaining > 0:
        step = min(remaining, CHUNK_SIZE)
        yield b" " * step
        remaining -= step
    yield suffix
