"""The Playment API origin: the three endpoints the exporter uses, project details, and the
documented error envelope."""

import datetime
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from playment_simulator.catalog import SimBatch
from playment_simulator.http_base import SimulatorHandler
from playment_simulator.paging import InvalidPageToken, batch_page
from playment_simulator.urls import (
    PRIVATE_FILES_BASE,
    PRIVATE_PREFIX,
    SIGNED_PREFIX,
    file_path,
    parse_file_path,
    parse_result_path,
    result_path,
)

BASE_PATH = "/v1"
_FIRST_BATCH_CREATED = datetime.datetime(2021, 7, 15, 9, 30, tzinfo=datetime.UTC)

# fault kind -> (HTTP status, envelope code, message, extra headers)
_API_FAULTS: dict[str, tuple[int, str, str, tuple[tuple[str, str], ...]]] = {
    "429": (429, "rate_limit_exceeded", "Too many requests", ()),
    "429_retry_after": (429, "rate_limit_exceeded", "Too many requests", (("Retry-After", "1"),)),
    "500": (500, "api_error", "Internal server error", ()),
    "503": (503, "api_error", "Service temporarily unavailable", ()),
    "400_FS_0000": (400, "FS_0000", "Something went wrong, please try again later", ()),
    "job_not_found": (400, "FS_0004", "Job not found", ()),
    "token_refused": (400, "invalid_request_error", "Invalid pageToken provided", ()),
}


@dataclass(frozen=True)
class ApiRoute:
    """What a request asks for: the endpoint name (as counted in stats), the key faults are
    scripted by, and the ids in its path."""

    endpoint: str
    key: str = ""
    project_id: str = ""
    item_id: str = ""
    file_name: str = ""  # an attachment for a file a segmentation result references


def route(  # noqa: PLR0911 - one return per endpoint the match tells apart
    path: str, query: dict[str, list[str]], storage_url: str
) -> ApiRoute:
    """Map a request path onto an endpoint; "unknown" if it matches none."""
    if not path.startswith(BASE_PATH + "/"):
        return ApiRoute("unknown")
    parts = [unquote(part) for part in path[len(BASE_PATH) + 1 :].split("/")]
    match parts:
        case ["projects", project_id, "batch", batch_id] if project_id and batch_id:
            return ApiRoute("list", batch_id, project_id, batch_id)
        case ["projects", project_id, "jobs", job_id] if project_id and job_id:
            return ApiRoute("job", job_id, project_id, job_id)
        case ["projects", project_id, "details"] if project_id:
            return ApiRoute("details", project_id, project_id)
        case ["attachments"] if query.get("url", [""])[0].startswith(PRIVATE_FILES_BASE + "/"):
            url = query["url"][0]
            file_ids = parse_file_path("/", urlsplit(url).path)
            if file_ids is None:
                return ApiRoute("attachment")
            project_id, job_id, name = file_ids
            return ApiRoute("attachment", f"{job_id}/{name}", project_id, job_id, name)
        case ["attachments"]:
            ids = _private_ids(query.get("url", [""])[0], storage_url)
            project_id, job_id = ids if ids is not None else ("", "")
            return ApiRoute("attachment", job_id, project_id, job_id)
    return ApiRoute("unknown")


def _private_ids(url: str, storage_url: str) -> tuple[str, str] | None:
    if not url.startswith(storage_url + PRIVATE_PREFIX):
        return None
    return parse_result_path(PRIVATE_PREFIX, urlsplit(url).path)


def envelope(code: str, message: str) -> bytes:
    return json.dumps({"success": False, "error": {"code": code, "message": message}}).encode()


class ApiHandler(SimulatorHandler):
    """Answers ``/v1/...`` with the ``x-api-key`` header checked on every call."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib handler's naming)
        self.pause()
        sim = self.simulator
        url = urlsplit(self.path)
        request = route(url.path, parse_qs(url.query), sim.storage_url)
        sim.stats.count_request(request.endpoint)
        if self.headers.get("x-api-key") != sim.api_key:
            self.send_error_envelope(401, "unauthorized", "Invalid or missing API key")
            return
        if request.endpoint == "unknown":
            self.send_error_envelope(404, "not_found", f"No route for GET {url.path}")
            return
        page_token = parse_qs(url.query).get("page_token", [""])[0]
        fault = sim.fault_for(request.endpoint, request.key)
        if fault is None and request.endpoint == "list" and page_token:
            fault = sim.fault_for("list", f"{request.key}@{page_token}", targeted_only=True)
        if fault is not None:
            self.send_fault(fault)
            return
        if request.endpoint == "list":
            self.list_batch(request, page_token)
        elif request.endpoint == "job":
            self.get_job(request)
        elif request.endpoint == "attachment":
            self.resolve_attachment(request)
        else:
            self.project_details(request)

    def send_data(self, data: dict[str, Any]) -> None:
        body = json.dumps({"data": data, "success": True}).encode()
        self.send_bytes(200, body, "application/json")

    def send_error_envelope(self, status: int, code: str, message: str) -> None:
        self.send_bytes(status, envelope(code, message), "application/json")

    def send_fault(self, kind: str) -> None:
        if kind == "reset":
            self.reset_connection()
            return
        status, code, message, headers = _API_FAULTS[kind]
        self.send_bytes(status, envelope(code, message), "application/json", headers)

    def list_batch(self, request: ApiRoute, page_token: str) -> None:
        sim = self.simulator
        batch = sim.catalog.batch(request.project_id, request.item_id)
        if batch is None:
            self.send_error_envelope(400, "FS_0004", "Batch not found")
            return
        try:
            page = batch_page(batch, page_token, sim.page_size)
        except InvalidPageToken:
            self.send_error_envelope(400, "invalid_request_error", "Invalid pageToken provided")
            return
        data: dict[str, Any] = {
            "id": batch.id,
            "project_id": request.project_id,
            "name": _batch_name(batch),
            "jobs": [
                {
                    "id": job.id,
                    "reference_id": job.reference_id,
                    "status": job.status,
                    "frames": 1,
                    "annotations": sim.catalog.annotation_count(request.project_id, job.id),
                }
                for job in page.jobs
            ],
        }
        if page.token_present:
            data["next_page_token"] = page.next_page_token
        self.send_data(data)

    def get_job(self, request: ApiRoute) -> None:
        sim = self.simulator
        entry = sim.catalog.job(request.project_id, request.item_id)
        if entry is None:
            self.send_error_envelope(400, "FS_0004", "Job not found")
            return
        job = entry.job
        result = ""
        if job.completed:
            result = sim.storage_url + result_path(PRIVATE_PREFIX, request.project_id, job.id)
        self.send_data(
            {
                "project_id": request.project_id,
                "reference_id": job.reference_id,
                "job_id": job.id,
                "batch_id": entry.batch_id,
                "status": job.status,
                "work_flow_id": _stable_uuid("workflow", request.project_id),
                "priority_weight": 5,
                "tag": _stable_uuid("tag", entry.batch_id),
                "result": result,
            }
        )

    def resolve_attachment(self, request: ApiRoute) -> None:
        """Redirect to a signed, expiring URL on the storage origin; the body is empty."""
        sim = self.simulator
        if not request.item_id or sim.catalog.job(request.project_id, request.item_id) is None:
            self.send_error_envelope(400, "invalid_request_error", "Invalid attachment url")
            return
        if request.file_name:
            found = sim.catalog.file_body(request.project_id, request.item_id, request.file_name)
            if found is None:
                self.send_error_envelope(400, "invalid_request_error", "Invalid attachment url")
                return
            path = file_path(SIGNED_PREFIX, request.project_id, request.item_id, request.file_name)
        else:
            path = result_path(SIGNED_PREFIX, request.project_id, request.item_id)
        expires = int(time.time() + sim.url_ttl)
        query = urlencode({"expires": expires, "signature": sim.signer.sign(path, expires)})
        location = f"{sim.storage_url}{path}?{query}"
        self.send_bytes(sim.redirect_status, b"", "text/plain", [("Location", location)])

    def project_details(self, request: ApiRoute) -> None:
        sim = self.simulator
        project = sim.catalog.project(request.project_id)
        if project is None:
            self.send_error_envelope(400, "FS_0004", "Project not found")
            return
        batches = []
        for index, batch in enumerate(project.batches):
            completed = list(batch.completed_jobs())
            created = _FIRST_BATCH_CREATED + datetime.timedelta(days=index)
            batches.append(
                {
                    "id": batch.id,
                    "name": _batch_name(batch),
                    "description": "",
                    "is_default": False,
                    "total_jobs": len(batch.jobs),
                    "completed_jobs": len(completed),
                    "total_frames": len(batch.jobs),
                    "completed_frames": len(completed),
                    "annotations": sum(
                        sim.catalog.annotation_count(project.id, job.id) for job in completed
                    ),
                    "created_at": created.isoformat().replace("+00:00", "Z"),
                    "status": "Complete",
                }
            )
        self.send_data({"name": project.name, "base": "IMAGE", "batches": batches})


def _batch_name(batch: SimBatch) -> str:
    return batch.name or batch.id


def _stable_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"playment-simulator/{kind}/{name}"))
