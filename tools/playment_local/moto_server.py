"""``moto_server`` in a process of its own: AWS APIs whose memory and CPU are not ours.

Benchmarks and memory tests use it so that what they measure is the exporter alone (moto
assembles multipart uploads in its own memory).
"""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def moto_server() -> Iterator[str]:
    """S3 and Secrets Manager in a ``moto_server`` process on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(  # noqa: S603 - our venv's moto_server
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not answer within 30 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
