"""The storage origin: signed, expiring result URLs (as S3 presigned URLs behave), private
URLs that deny access, and S3-style XML errors."""

import time
import uuid
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from playment_simulator.http_base import SimulatorHandler
from playment_simulator.urls import (
    PRIVATE_PREFIX,
    SIGNED_PREFIX,
    parse_file_path,
    parse_result_path,
)

_NOT_JSON_BODY = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>\n"
)

# fault kind -> (HTTP status, S3 error code, message, extra headers)
_STORAGE_FAULTS: dict[str, tuple[int, str, str, tuple[tuple[str, str], ...]]] = {
    "429": (429, "TooManyRequests", "Please reduce your request rate.", ()),
    "429_retry_after": (
        429,
        "TooManyRequests",
        "Please reduce your request rate.",
        (("Retry-After", "1"),),
    ),
    "500": (500, "InternalError", "We encountered an internal error. Please try again.", ()),
    "503": (503, "SlowDown", "Please reduce your request rate.", ()),
    "expired": (403, "AccessDenied", "Request has expired", ()),
}


def s3_error(code: str, message: str) -> bytes:
    request_id = uuid.uuid4().hex[:16].upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


class StorageHandler(SimulatorHandler):
    """Serves result bodies on signed URLs only, and notes any request carrying the API key."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib handler's naming)
        self.pause()
        sim = self.simulator
        if "x-api-key" in self.headers:
            sim.stats.count_key_leak()
        url = urlsplit(self.path)
        if url.path.startswith(PRIVATE_PREFIX):
            sim.stats.count_request("private")
            self.send_s3_error(403, "AccessDenied", "Access Denied")
            return
        file_ids = parse_file_path(SIGNED_PREFIX, url.path)
        if file_ids is not None:
            self.serve_file(url.path, parse_qs(url.query), *file_ids)
            return
        ids = parse_result_path(SIGNED_PREFIX, url.path)
        if ids is None:
            sim.stats.count_request("unknown")
            self.send_s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        sim.stats.count_request("storage")
        project_id, job_id = ids
        if not self.signature_valid(url.path, parse_qs(url.query)):
            return
        if sim.catalog.job(project_id, job_id) is None:
            self.send_s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        fault = sim.fault_for("storage", job_id)
        if fault is None:
            self.send_result(project_id, job_id)
        else:
            self.send_fault(fault, project_id, job_id)

    def serve_file(
        self, path: str, query: dict[str, list[str]], project_id: str, job_id: str, name: str
    ) -> None:
        """A file a segmentation result references; faults are keyed ``<job>/<name>``."""
        sim = self.simulator
        sim.stats.count_request("storage")
        if not self.signature_valid(path, query):
            return
        body = sim.catalog.file_body(project_id, job_id, name)
        if body is None:
            self.send_s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        fault = sim.fault_for("storage", f"{job_id}/{name}")
        if fault is None:
            content_type = "image/png" if name.endswith(".png") else "application/octet-stream"
            self.send_bytes(200, body, content_type)
        elif fault == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif fault == "not_json":
            self.send_s3_error(404, "NoSuchKey", "The specified key does not exist.")
        else:
            self.send_fault(fault, project_id, job_id)

    def signature_valid(self, path: str, query: dict[str, list[str]]) -> bool:
        """Check the signature, then the expiry; answer 403 (and say False) if either fails."""
        expires_text = query.get("expires", [""])[0]
        signature = query.get("signature", [""])[0]
        if not (expires_text.isascii() and expires_text.isdigit()) or not signature:
            message = "Query-string authentication requires the expires and signature parameters."
            self.send_s3_error(403, "AccessDenied", message)
            return False
        expires = int(expires_text)
        if not self.simulator.signer.verify(path, expires, signature):
            message = "The request signature we calculated does not match the one provided."
            self.send_s3_error(403, "SignatureDoesNotMatch", message)
            return False
        if expires < time.time():
            self.send_s3_error(403, "AccessDenied", "Request has expired")
            return False
        return True

    def send_s3_error(
        self, status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_bytes(status, s3_error(code, message), "application/xml", headers)

    def send_fault(self, kind: str, project_id: str, job_id: str) -> None:
        if kind == "reset":
            self.reset_connection()
        elif kind == "truncated":
            self.send_result(project_id, job_id, stop_after_half=True)
        elif kind == "not_json":
            self.send_bytes(200, _NOT_JSON_BODY, "text/html")
        else:
            status, code, message, headers = _STORAGE_FAULTS[kind]
            self.send_s3_error(status, code, message, headers)

    def send_result(self, project_id: str, job_id: str, *, stop_after_half: bool = False) -> None:
        """Stream the body chunk by chunk; with ``stop_after_half``, promise the full length,
        send about half of it and close, as a connection dropped mid-download looks."""
        catalog = self.simulator.catalog
        length = catalog.body_length(project_id, job_id)
        budget = length // 2 if stop_after_half else length
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        stats = self.simulator.stats
        counted = False
        try:
            for chunk in catalog.body_chunks(project_id, job_id):
                piece = chunk[:budget]
                budget -= len(piece)
                if budget <= 0 and not stop_after_half:
                    # Counted before the last write: once it is sent, the client may look.
                    stats.count_delivery(job_id)
                    counted = True
                if piece:
                    self.wfile.write(piece)
                if budget <= 0:
                    break
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            if counted:
                stats.count_delivery(job_id, -1)
            return
        if stop_after_half:
            self.close_connection = True
