"""A base URL pointing at a web server that is not Playment's: its 404 carries no error
envelope, so the client's message names the path it asked for, and the hint."""

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from playment_exporter.errors import PlaymentApiError
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.retry_policy import RetrySettings

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Silent: a test's output is its assertions."""


@contextmanager
def plain_web_server(folder: Path) -> Iterator[str]:
    """A stdlib file server on loopback serving an empty folder: every path is an HTML 404."""
    handler = functools.partial(_QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_404_without_an_envelope_names_the_path_asked_for(tmp_path: Path) -> None:
    # Given a base URL where a plain web server answers 404 in HTML
    with plain_web_server(tmp_path) as origin:
        client = PlaymentClient(origin, "key", retry=FAST)
        # When the run's first request is made
        with pytest.raises(PlaymentApiError) as raised:
            client.first_contact("p1")
    # Then the message names the request's path under the base URL, and the missing version
    assert raised.value.status == 404
    assert raised.value.message == (
        "HTTP 404 for GET /projects/p1/details; "
        f"the base URL {origin} has no version: try {origin}/v1"
    )
