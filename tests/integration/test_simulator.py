"""The Playment simulator itself, spoken to over HTTP with plain ``requests``."""

import hashlib
import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import psutil  # type: ignore[import-untyped]
import pytest
import requests

from playment_simulator import (
    ALL_TRANSIENT_KINDS,
    Catalog,
    FaultPlan,
    SimBatch,
    SimJob,
    SimProject,
    Simulator,
    SimulatorError,
    sample_catalog,
)
from playment_simulator.jobs import GeneratedJobs
from playment_simulator.paging import TOKEN_BASE

StartSimulator = Callable[..., Simulator]
EndingStyle = Literal["absent", "null", "empty"]
MiB = 1024 * 1024
TIMEOUT = 10
API_FAULTS = {
    # kind -> (status, envelope code, Retry-After)
    "429": (429, "rate_limit_exceeded", None),
    "429_retry_after": (429, "rate_limit_exceeded", "1"),
    "500": (500, "api_error", None),
    "503": (503, "api_error", None),
    "400_FS_0000": (400, "FS_0000", None),
}
API_ONLY_KINDS = {"429", "429_retry_after", "500", "503", "400_FS_0000", "reset"}


def one_project(*batches: SimBatch) -> Catalog:
    return Catalog([SimProject("p1", batches)])


def jobs(prefix: str, count: int) -> tuple[SimJob, ...]:
    return tuple(SimJob(f"{prefix}-{n:04d}", reference_id=f"ref-{n}") for n in range(count))


def api_get(sim: Simulator, path: str, **params: str) -> requests.Response:
    headers = {"x-api-key": sim.api_key}
    return requests.get(sim.api_url + path, params=params, headers=headers, timeout=TIMEOUT)


def result_url(sim: Simulator, project_id: str, job_id: str) -> str:
    url = api_get(sim, f"/projects/{project_id}/jobs/{job_id}").json()["data"]["result"]
    assert isinstance(url, str)
    return url


def signed_url(sim: Simulator, project_id: str, job_id: str) -> str:
    headers = {"x-api-key": sim.api_key}
    redirect = requests.get(
        f"{sim.api_url}/attachments",
        params={"url": result_url(sim, project_id, job_id)},
        headers=headers,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert redirect.status_code in (302, 307), redirect.text
    return redirect.headers["Location"]


def page_through(sim: Simulator, project_id: str, batch_id: str) -> list[dict[str, Any]]:
    """Every page of a batch, stopping on a missing, null or empty token."""
    pages: list[dict[str, Any]] = []
    token = ""
    while True:
        response = api_get(sim, f"/projects/{project_id}/batch/{batch_id}", page_token=token)
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        pages.append(page)
        token = page.get("next_page_token") or ""
        if not token or len(pages) > 10:
            return pages


def sha256_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


# --- the catalog ------------------------------------------------------------------------------


def test_small_bodies_are_realistic_json_of_one_to_two_kb_and_differ_per_job() -> None:
    # Given the sample catalog
    catalog = sample_catalog()
    # When the bodies of a hundred jobs are read
    ids = [f"batch-a-job-{n:05d}" for n in range(100)]
    bodies = [b"".join(catalog.body_chunks("demo-project", job_id)) for job_id in ids]
    # Then each is annotation JSON of 1-2 KB naming its job, and no two are the same
    for job_id, body in zip(ids, bodies, strict=True):
        assert 1024 <= len(body) <= 2048
        assert len(body) == catalog.body_length("demo-project", job_id)
        document = json.loads(body)
        assert document["job_id"] == job_id
        assert document["data"]["annotations"][0]["type"] == "rectangle"
    assert len(set(bodies)) == len(bodies)


@pytest.mark.parametrize("size", [2, 3, 40, 80, 81, 82, 150, 4096, 65_537, 1_000_003])
def test_large_bodies_are_valid_json_of_exactly_the_size_asked(size: int) -> None:
    # Given a job whose body has a set size
    catalog = one_project(SimBatch("b1", (SimJob("big", body_size=size),)))
    # When its chunks are joined
    body = b"".join(catalog.body_chunks("p1", "big"))
    # Then it is exactly that long, parses, and its checksum is the one the catalog gives
    assert len(body) == size == catalog.body_length("p1", "big")
    assert isinstance(json.loads(body), dict)
    assert catalog.body_sha256("p1", "big") == hashlib.sha256(body).hexdigest()
    assert max(len(chunk) for chunk in catalog.body_chunks("p1", "big")) <= 64 * 1024 + 200


def test_the_sample_catalog_is_deterministic() -> None:
    # Given two sample catalogs built alike
    first, second = sample_catalog(), sample_catalog()
    # When their batches are compared
    project = first.projects["demo-project"]
    # Then they hold the same jobs, every ninth not completed, styles taken round-robin
    assert project == second.projects["demo-project"]
    assert [(b.id, len(b.jobs), b.last_page_token) for b in project.batches] == [
        ("batch-a", 250, "absent"),
        ("batch-b", 180, "null"),
    ]
    batch_a = project.batches[0].jobs
    assert batch_a[0].id == "batch-a-job-00000"
    assert [n for n, job in enumerate(batch_a) if job.status != "completed"][:3] == [8, 17, 26]
    assert first.body_sha256("demo-project", "batch-b-job-00007") == second.body_sha256(
        "demo-project", "batch-b-job-00007"
    )


# --- the API origin ---------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["absent", "null", "empty"])
@pytest.mark.parametrize(("job_count", "page_count"), [(250, 3), (200, 2), (0, 1)])
def test_paging_ends_in_the_batch_style(
    start_simulator: StartSimulator, style: EndingStyle, job_count: int, page_count: int
) -> None:
    # Given a batch whose last page signals its end in this style
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", job_count), style)))
    # When a client pages through it
    pages = page_through(sim, "p1", "b1")
    # Then every job came once, pages were full but the last, and the last ends as styled
    listed = [job["id"] for page in pages for job in page["jobs"]]
    assert listed == [f"j-{n:04d}" for n in range(job_count)]
    assert len(pages) == page_count == sim.stats.requests["list"]
    assert all(len(page["jobs"]) == 100 for page in pages[:-1])
    last = pages[-1]
    expected: dict[str, Any] = {"null": {"next_page_token": None}, "empty": {"next_page_token": ""}}
    assert {k: v for k, v in last.items() if k == "next_page_token"} == expected.get(style, {})
    assert all(page["next_page_token"].isdigit() for page in pages[:-1])
    assert last["project_id"] == "p1"
    assert all(
        set(job) == {"id", "reference_id", "status", "frames", "annotations"}
        for page in pages
        for job in page["jobs"]
    )


def test_a_repeat_style_batch_hands_back_the_last_token(start_simulator: StartSimulator) -> None:
    # Given a misbehaving batch whose last page repeats the token that asked for it
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 150), "repeat")))
    # When its two pages are read
    first = api_get(sim, "/projects/p1/batch/b1").json()["data"]
    token = first["next_page_token"]
    second = api_get(sim, "/projects/p1/batch/b1", page_token=token).json()["data"]
    # Then the second page carries the same token again
    assert len(second["jobs"]) == 50
    assert second["next_page_token"] == token


def test_a_bad_page_token_is_an_invalid_request(start_simulator: StartSimulator) -> None:
    # Given a batch of 250 jobs
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 250))))
    # When it is asked for pages with tokens it never handed out
    answers = [
        api_get(sim, "/projects/p1/batch/b1", page_token=token)
        for token in ("not-a-token", "1575822103313046250", "42")
    ]
    # Then each is a 400 with the documented envelope
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json() == {
            "success": False,
            "error": {"code": "invalid_request_error", "message": "Invalid pageToken provided"},
        }


def test_project_details_sum_up_each_batch(start_simulator: StartSimulator) -> None:
    # Given the sample project (every ninth job not completed)
    sim = start_simulator(sample_catalog())
    # When its details are asked for
    answer = api_get(sim, "/projects/demo-project/details")
    # Then each batch's totals are right, in the documented envelope
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True
    assert body["data"]["base"] == "IMAGE"
    batches = {batch["id"]: batch for batch in body["data"]["batches"]}
    assert batches["batch-a"]["total_jobs"] == 250
    assert batches["batch-a"]["completed_jobs"] == 250 - 250 // 9
    assert batches["batch-b"]["completed_frames"] == 180 - 180 // 9
    assert batches["batch-b"]["status"] == "Complete"
    assert batches["batch-a"]["annotations"] > batches["batch-a"]["completed_jobs"]


def test_a_completed_job_has_a_private_result_url_and_others_none(
    start_simulator: StartSimulator,
) -> None:
    # Given a completed job and one still being labelled
    catalog = one_project(
        SimBatch("b1", (SimJob("done", reference_id="r1"), SimJob("wip", "labelling")))
    )
    sim = start_simulator(catalog)
    # When both are fetched
    done = api_get(sim, "/projects/p1/jobs/done").json()
    wip = api_get(sim, "/projects/p1/jobs/wip").json()
    # Then only the completed one points at a result, on the storage origin's private path
    assert done["success"] is True
    assert done["data"]["job_id"] == "done"
    assert done["data"]["batch_id"] == "b1"
    assert done["data"]["reference_id"] == "r1"
    assert done["data"]["status"] == "completed"
    assert done["data"]["result"] == f"{sim.storage_url}/private/p1/done.json"
    assert wip["data"]["status"] == "labelling"
    assert wip["data"]["result"] == ""


def test_unknown_ids_and_paths_get_error_envelopes(start_simulator: StartSimulator) -> None:
    # Given a simulator with one project
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    # When it is asked for things it does not have
    job = api_get(sim, "/projects/p1/jobs/nope")
    batch = api_get(sim, "/projects/p1/batch/nope")
    project = api_get(sim, "/projects/nope/details")
    attachment = api_get(sim, "/attachments", url="https://elsewhere.example/x.json")
    path = api_get(sim, "/no/such/path")
    # Then each is a 400 envelope with its code, and an unknown path a 404
    assert (job.status_code, job.json()["error"]["code"]) == (400, "FS_0004")
    assert (batch.status_code, batch.json()["error"]["code"]) == (400, "FS_0004")
    assert (project.status_code, project.json()["error"]["code"]) == (400, "FS_0004")
    assert attachment.status_code == 400
    assert attachment.json()["error"]["code"] == "invalid_request_error"
    assert path.status_code == 404
    assert path.json()["success"] is False


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_wrong_or_missing_key_is_a_401_envelope(
    start_simulator: StartSimulator, key: str | None
) -> None:
    # Given a running simulator
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    # When a job is asked for with a wrong key, or none
    headers = {"x-api-key": key} if key else {}
    answer = requests.get(
        f"{sim.api_url}/projects/p1/jobs/j-0000", headers=headers, timeout=TIMEOUT
    )
    # Then the answer is 401 with the unauthorized envelope
    assert answer.status_code == 401
    assert answer.json()["success"] is False
    assert answer.json()["error"]["code"] == "unauthorized"


# --- attachments and the storage origin -------------------------------------------------------


@pytest.mark.parametrize("status", [302, 307])
def test_an_attachment_redirects_to_a_signed_url_serving_the_exact_body(
    start_simulator: StartSimulator, status: int
) -> None:
    # Given a simulator whose attachment endpoint redirects with this status
    sim = start_simulator(sample_catalog(), redirect_status=status)
    job_id = "batch-a-job-00003"
    # When the attachment is resolved by hand and its Location fetched with no key
    redirect = requests.get(
        f"{sim.api_url}/attachments",
        params={"url": result_url(sim, "demo-project", job_id)},
        headers={"x-api-key": sim.api_key},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    body = requests.get(redirect.headers["Location"], timeout=TIMEOUT)
    # Then the redirect is empty and on the storage origin, and the body is the catalog's
    assert redirect.status_code == status
    assert redirect.headers["Content-Length"] == "0"
    assert redirect.headers["Location"].startswith(f"{sim.storage_url}/signed/demo-project/")
    assert body.status_code == 200
    assert body.headers["Content-Type"] == "application/json"
    assert int(body.headers["Content-Length"]) == sim.catalog.body_length("demo-project", job_id)
    assert hashlib.sha256(body.content).hexdigest() == sim.catalog.body_sha256(
        "demo-project", job_id
    )
    assert sim.stats.attachments_by_job[job_id] == 1
    assert sim.stats.key_leaks == 0


def test_the_redirect_status_can_be_switched_while_running(start_simulator: StartSimulator) -> None:
    # Given a running simulator redirecting with 302
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    url = result_url(sim, "p1", "j-0000")
    # When it is switched to 307
    sim.redirect_status = 307
    answer = api_get(sim, "/attachments", url=url)
    # Then the next redirect uses it (requests followed it to the body)
    assert answer.history[0].status_code == 307
    assert answer.status_code == 200


def test_an_expired_signature_is_refused(start_simulator: StartSimulator) -> None:
    # Given signed URLs that expire before they are used
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))), url_ttl=-5)
    # When one is fetched
    answer = requests.get(signed_url(sim, "p1", "j-0000"), timeout=TIMEOUT)
    # Then storage answers 403 AccessDenied, as S3 does, and delivers nothing
    assert answer.status_code == 403
    assert "<Code>AccessDenied</Code>" in answer.text
    assert "expired" in answer.text
    assert sim.stats.attachments_by_job["j-0000"] == 0


def test_a_tampered_signature_is_refused(start_simulator: StartSimulator) -> None:
    # Given a valid signed URL
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 2))))
    url = signed_url(sim, "p1", "j-0000")
    # When its signature is altered, or it is pointed at another job
    flipped = url[:-1] + ("0" if url[-1] != "0" else "1")
    other_job = url.replace("j-0000", "j-0001")
    answers = [requests.get(u, timeout=TIMEOUT) for u in (flipped, other_job)]
    # Then both are refused with SignatureDoesNotMatch
    for answer in answers:
        assert answer.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in answer.text


def test_a_private_result_url_is_denied(start_simulator: StartSimulator) -> None:
    # Given a completed job's result URL
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    url = result_url(sim, "p1", "j-0000")
    # When it is fetched directly
    answer = requests.get(url, timeout=TIMEOUT)
    # Then storage says AccessDenied in S3's XML, and counts the hit as private
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in answer.text
    assert sim.stats.requests["private"] == 1
    assert sim.stats.requests["storage"] == 0


def test_a_storage_request_carrying_the_key_is_counted_as_a_leak(
    start_simulator: StartSimulator,
) -> None:
    # Given a signed URL
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    url = signed_url(sim, "p1", "j-0000")
    assert sim.stats.key_leaks == 0
    # When it is fetched with the API key attached
    answer = requests.get(url, headers={"x-api-key": sim.api_key}, timeout=TIMEOUT)
    # Then it is still served, and the leak is on record
    assert answer.status_code == 200
    assert sim.stats.key_leaks == 1


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(API_ONLY_KINDS))
def test_each_transient_api_fault_happens_once_then_a_normal_answer(
    start_simulator: StartSimulator, kind: str
) -> None:
    # Given a job endpoint scripted to fail once with this fault
    faults = FaultPlan(scripted={("job", "j-0000"): [kind]})
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))), faults=faults)
    # When the job is asked for twice
    if kind == "reset":
        with pytest.raises(requests.ConnectionError):
            api_get(sim, "/projects/p1/jobs/j-0000")
    else:
        failed = api_get(sim, "/projects/p1/jobs/j-0000")
        status, code, retry_after = API_FAULTS[kind]
        assert failed.status_code == status
        assert failed.json()["error"]["code"] == code
        assert failed.headers.get("Retry-After") == retry_after
    second = api_get(sim, "/projects/p1/jobs/j-0000")
    # Then the first failed as scripted, the second answered, and the fault was counted
    assert second.status_code == 200
    assert sim.stats.faults == {kind: 1}
    assert sim.stats.requests["job"] == 2


@pytest.mark.parametrize(
    ("endpoint", "key", "path", "params"),
    [
        ("list", "b1", "/projects/p1/batch/b1", {}),
        ("details", "p1", "/projects/p1/details", {}),
        ("attachment", "j-0000", "/attachments", {"url": "RESULT"}),
    ],
)
def test_faults_are_scripted_per_endpoint_and_key(
    start_simulator: StartSimulator,
    endpoint: str,
    key: str,
    path: str,
    params: dict[str, str],
) -> None:
    # Given an endpoint scripted to answer 503 once for this key
    faults = FaultPlan(scripted={(endpoint, key): ["503"]})
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))), faults=faults)
    params = {name: result_url(sim, "p1", "j-0000") for name in params}
    # When it is called twice
    first = api_get(sim, path, **params)
    second = api_get(sim, path, **params)
    # Then the first is the 503 and the second a normal answer
    assert first.status_code == 503
    assert second.status_code == 200
    assert sim.stats.faults == {"503": 1}


def test_each_transient_storage_fault_happens_once_then_the_body(
    start_simulator: StartSimulator,
) -> None:
    # Given a 200 KB result whose downloads are scripted to fail in every storage way
    kinds = ["truncated", "reset", "expired", "503", "429_retry_after", "500"]
    faults = FaultPlan(scripted={("storage", "big"): kinds})
    catalog = one_project(SimBatch("b1", (SimJob("big", body_size=200_000),)))
    sim = start_simulator(catalog, faults=faults)
    url = signed_url(sim, "p1", "big")
    # When it is downloaded once per fault, then once more
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=TIMEOUT)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=TIMEOUT)
    errors = [requests.get(url, timeout=TIMEOUT) for _ in kinds[2:]]
    body = requests.get(url, timeout=TIMEOUT)
    # Then each fault showed as S3 would show it, and the last download is the whole body
    assert [(e.status_code, e.headers.get("Retry-After")) for e in errors] == [
        (403, None),
        (503, None),
        (429, "1"),
        (500, None),
    ]
    assert "Request has expired" in errors[0].text
    assert "<Code>SlowDown</Code>" in errors[1].text
    assert body.status_code == 200
    assert len(body.content) == 200_000
    assert hashlib.sha256(body.content).hexdigest() == sim.catalog.body_sha256("p1", "big")
    assert sim.stats.faults == dict.fromkeys(kinds, 1)
    assert sim.stats.attachments_by_job["big"] == 1


def test_a_permanent_fault_repeats_and_touches_no_other_job(
    start_simulator: StartSimulator,
) -> None:
    # Given one job that is permanently "not found" and one whose body is never JSON
    faults = FaultPlan(
        permanent={("job", "j-0000"): "job_not_found", ("storage", "j-0001"): "not_json"}
    )
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 3))), faults=faults)
    url = signed_url(sim, "p1", "j-0001")
    # When each is asked for three times, and a healthy job once
    missing = [api_get(sim, "/projects/p1/jobs/j-0000") for _ in range(3)]
    html = [requests.get(url, timeout=TIMEOUT) for _ in range(3)]
    healthy = api_get(sim, "/projects/p1/jobs/j-0002")
    # Then every try fails the same way, and the healthy job answers normally
    assert {(a.status_code, a.json()["error"]["code"]) for a in missing} == {(400, "FS_0004")}
    assert missing[0].json()["error"]["message"] == "Job not found"
    assert {(a.status_code, a.headers["Content-Type"]) for a in html} == {(200, "text/html")}
    with pytest.raises(json.JSONDecodeError):
        json.loads(html[0].content)
    assert healthy.status_code == 200
    assert sim.stats.faults == {"job_not_found": 3, "not_json": 3}


def test_random_faults_follow_the_seed_and_fit_the_endpoint(
    start_simulator: StartSimulator,
) -> None:
    # Given two simulators that fault every request, from the same seed
    plan = FaultPlan(rate=1.0, seed=11)
    catalog = one_project(SimBatch("b1", jobs("j", 1)))
    sims = [start_simulator(catalog, faults=plan) for _ in range(2)]

    def outcomes(sim: Simulator) -> list[str]:
        seen = []
        for _ in range(20):
            try:
                seen.append(str(api_get(sim, "/projects/p1/jobs/j-0000").status_code))
            except requests.ConnectionError:
                seen.append("reset")
        return seen

    # When each is asked for the same job twenty times
    first, second = outcomes(sims[0]), outcomes(sims[1])
    # Then both fail in the same sequence, only in ways an API endpoint can
    assert first == second
    assert "200" not in first
    assert sum(sims[0].stats.faults.values()) == 20
    assert set(sims[0].stats.faults) <= API_ONLY_KINDS
    assert len(set(sims[0].stats.faults)) > 1


def test_a_fault_plan_rejects_faults_an_endpoint_cannot_have() -> None:
    # Given / When plans that put storage-only faults on the API, or unknown names
    # Then they are refused at once
    with pytest.raises(ValueError, match="cannot happen"):
        FaultPlan(scripted={("job", "j"): ["truncated"]})
    with pytest.raises(ValueError, match="cannot happen"):
        FaultPlan(permanent={("list", "b"): "not_json"})
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(kinds=("teapot",))
    assert "truncated" in ALL_TRANSIENT_KINDS


# --- size, concurrency, latency and lifecycle ------------------------------------------------


def test_a_50_mb_body_streams_exactly_with_flat_memory(start_simulator: StartSimulator) -> None:
    # Given a 50 MB result, its checksum known, and one small download done to warm up
    size = 50 * MiB
    catalog = one_project(SimBatch("b1", (SimJob("warm"), SimJob("big", body_size=size))))
    sim = start_simulator(catalog)
    expected_sha = catalog.body_sha256("p1", "big")
    requests.get(signed_url(sim, "p1", "warm"), timeout=TIMEOUT).raise_for_status()
    url = signed_url(sim, "p1", "big")
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    # When it is downloaded in a stream
    digest, received = hashlib.sha256(), 0
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as answer:
            assert int(answer.headers["Content-Length"]) == size
            for chunk in answer.iter_content(64 * 1024):
                digest.update(chunk)
                received += len(chunk)
    finally:
        done.set()
        sampler.join()
    # Then every byte arrived, the checksum matches, and memory barely moved
    assert received == size
    assert digest.hexdigest() == expected_sha
    assert peak - baseline < 20 * MiB, f"RSS grew by {(peak - baseline) / MiB:.1f} MiB"
    assert sim.stats.attachments_by_job["big"] == 1


def test_64_concurrent_clients_are_all_served(start_simulator: StartSimulator) -> None:
    # Given a simulator that takes 0.2 s over every answer
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 64))), latency=0.2)
    barrier = threading.Barrier(64)

    def fetch(n: int) -> int:
        with requests.Session() as session:
            barrier.wait()
            url = f"{sim.api_url}/projects/p1/jobs/j-{n:04d}"
            answer = session.get(url, headers={"x-api-key": sim.api_key}, timeout=TIMEOUT)
            return answer.status_code

    # When 64 clients ask at the same moment
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(fetch, range(64)))
    elapsed = time.monotonic() - started
    # Then all succeed, served side by side (one by one would take 12.8 s)
    assert statuses == [200] * 64
    assert sim.stats.requests["job"] == 64
    assert 0.2 <= elapsed < 4


def test_latency_applies_to_both_origins(start_simulator: StartSimulator) -> None:
    # Given a simulator with 0.3 s of latency
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    url = signed_url(sim, "p1", "j-0000")
    sim.latency = 0.3
    # When the API and storage are each asked once
    started = time.monotonic()
    api_get(sim, "/projects/p1/jobs/j-0000")
    api_elapsed = time.monotonic() - started
    started = time.monotonic()
    requests.get(url, timeout=TIMEOUT)
    storage_elapsed = time.monotonic() - started
    # Then both answers waited at least that long
    assert api_elapsed >= 0.3
    assert storage_elapsed >= 0.3


def test_connections_are_kept_alive(start_simulator: StartSimulator) -> None:
    # Given one HTTP/1.1 connection to the API
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    connection = http.client.HTTPConnection("127.0.0.1", sim.api_port, timeout=TIMEOUT)
    headers = {"x-api-key": sim.api_key}
    # When two requests, one of them an error, go over it
    socks = []
    for path in ("/v1/projects/p1/jobs/nope", "/v1/projects/p1/jobs/j-0000"):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        socks.append(connection.sock)
    connection.close()
    # Then both used the same socket
    assert socks[0] is not None
    assert socks[0] is socks[1]


def test_start_twice_and_a_port_in_use_are_clear_errors(start_simulator: StartSimulator) -> None:
    # Given a running simulator
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    other = Simulator(sim.catalog, "k")
    # When it is started again, or another one asks for its port
    # Then both are refused with a message that says why
    with pytest.raises(SimulatorError, match="already running"):
        sim.start()
    with pytest.raises(SimulatorError, match=f"127.0.0.1:{sim.api_port}"):
        other.start(api_port=sim.api_port)
    assert not other.running


def test_stop_closes_both_origins(start_simulator: StartSimulator) -> None:
    # Given a simulator with a kept-alive client connection
    sim = start_simulator(one_project(SimBatch("b1", jobs("j", 1))))
    api_url, storage_url = sim.api_url, sim.storage_url
    with requests.Session() as session:
        session.headers["x-api-key"] = sim.api_key
        assert session.get(f"{api_url}/projects/p1/details", timeout=TIMEOUT).status_code == 200
        # When it is stopped
        sim.stop()
        # Then neither the open connection nor new ones get an answer
        with pytest.raises(requests.ConnectionError):
            session.get(f"{api_url}/projects/p1/details", timeout=TIMEOUT)
    with pytest.raises(requests.ConnectionError):
        requests.get(storage_url, timeout=TIMEOUT)
    with pytest.raises(SimulatorError):
        _ = sim.api_url


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_the_simulator_command_serves_until_told_to_stop(stop_signal: signal.Signals) -> None:
    # Given the simulator command started on free ports with SIGINT ignored, as a background
    # job of a non-interactive shell has it (Python then installs no KeyboardInterrupt)
    command = [sys.executable, "-m", "playment_cli", "simulator", "--port", "0"]
    command += ["--api-key", "cli-key"]
    ignoring_sigint = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    process = subprocess.Popen(
        ignoring_sigint, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or not banner[-1].startswith("Press Ctrl-C"):
            line = process.stdout.readline()
            assert line, f"the simulator ended before its banner: {banner}"
            banner.append(line)
        api_url = next(line.split()[-1] for line in banner if "API URL" in line)
        # When a job is asked for with the printed key, then the signal is sent
        answer = requests.get(
            f"{api_url}/projects/demo-project/jobs/batch-a-job-00000",
            headers={"x-api-key": "cli-key"},
            timeout=TIMEOUT,
        )
        process.send_signal(stop_signal)
        rest, errors = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Then it printed the key, answered, said it was stopping, and exited cleanly
    assert any("cli-key" in line for line in banner)
    assert answer.status_code == 200
    assert answer.json()["data"]["status"] == "completed"
    assert rest.splitlines() == ["stopping"], errors
    assert process.returncode == 0, errors


def test_a_generated_batch_of_a_million_jobs_is_served_without_being_held(
    start_simulator: StartSimulator,
) -> None:
    # Given a project with a batch of 1,000,000 generated jobs, one in 500 completed, made
    # and served while every allocation is traced
    tracemalloc.start()
    try:
        generated = GeneratedJobs("big", 1_000_000, completed_every=500)
        sim = start_simulator(one_project(SimBatch("big", generated)))
        # When a client lists a page deep in the batch, the last page, a completed job, and
        # the project's details
        deep = api_get(sim, "/projects/p1/batch/big", page_token=str(TOKEN_BASE + 500_000))
        last = api_get(sim, "/projects/p1/batch/big", page_token=str(TOKEN_BASE + 999_900))
        job = api_get(sim, "/projects/p1/jobs/big-0999500").json()["data"]
        details = api_get(sim, "/projects/p1/details").json()["data"]["batches"][0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Then each answer is the generated batch's, and memory stayed a small fraction of what
    # a million jobs held would take (about 300 MB)
    assert [j["id"] for j in deep.json()["data"]["jobs"]][:2] == ["big-0500000", "big-0500001"]
    assert deep.json()["data"]["jobs"][0]["status"] == "completed"
    assert deep.json()["data"]["jobs"][1]["status"] == "in_progress"
    assert len(last.json()["data"]["jobs"]) == 100
    assert "next_page_token" not in last.json()["data"]
    assert job["status"] == "completed"
    assert job["result"].endswith("/big-0999500.json")
    assert (details["total_jobs"], details["completed_jobs"]) == (1_000_000, 2_000)
    assert peak < 20 * MiB
