"""Each handler called with its sample event from events/: S3 and Secrets in moto, the
simulator on loopback."""

import hashlib
import json

import pytest

from playment_exporter.errors import InvalidInput, PlaymentAuthError
from playment_simulator import sample_catalog
from tests.conftest import API_KEY, BUCKET, load_event


def read_json(s3, key: str):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_list_pages_writes_the_manifest_and_returns_totals_only(invoke, s3, simulator) -> None:
    # Given the sample project: batch-a (250 jobs) and batch-b (180), every 9th not completed
    event = load_event("list-pages.json")
    # When ListPages runs on the sample event, for a Map of at most 4 children at once
    result = invoke("list_pages", event, MAP_MAX_CONCURRENCY="4")
    # Then it planned pages of the completed jobs only, and returned counts, not job IDs
    not_completed = 250 // 9 + 180 // 9
    assert result["jobs_listed"] == 430
    assert result["jobs_settled"] == not_completed
    assert result["jobs_to_fetch"] == 430 - not_completed
    assert "job-" not in json.dumps(result)
    # And the pages are sized for 4 children: 383 jobs to fetch, ceil(383 / 4) = 96 a page
    assert (result["page_size"], result["pages"]) == (96, 3 + 2)
    # And the manifest in S3 holds exactly those jobs, in pages of that size
    manifest = read_json(s3, result["manifest_key"])
    assert [len(item["job_ids"]) for item in manifest] == [96, 96, 31, 96, 64]
    listing = read_json(s3, "_exports/sample-execution/outcomes/listing/batch-a.json")
    assert {o["reason"] for o in listing["outcomes"]} == {"not_completed"}
    # And the simulator was asked for the list pages only
    assert simulator.stats.requests["list"] == 3 + 2
    assert simulator.stats.requests["job"] == 0


def test_list_pages_sizes_pages_for_the_template_default_concurrency(invoke, s3) -> None:
    # Given no MAP_MAX_CONCURRENCY in the environment: the template's default, 40, applies
    # When ListPages runs on the sample event (383 jobs to fetch)
    result = invoke("list_pages", load_event("list-pages.json"))
    # Then the pages are of ceil(383 / 40) = 10 jobs: batch-a's 223 and batch-b's 160
    assert result["page_size"] == 10
    manifest = read_json(s3, result["manifest_key"])
    assert [len(item["job_ids"]) for item in manifest] == [10] * 22 + [3] + [10] * 16
    assert result["pages"] == len(manifest) == 39


@pytest.mark.parametrize(
    ("bad_input", "field"),
    [
        ({"project_id": "demo-project", "batch_ids": ["../x"]}, "batch_ids[0]"),
        ({"project_id": "demo/project", "batch_id": "batch-a"}, "project_id"),
        ({"batch_id": "batch-a"}, "project_id"),
        ({"project_id": "p", "batch_ids": []}, "batch_ids"),
        ({"project_id": "p", "batch_id": 7}, "batch_id"),
        ({"project_id": "p", "batch_id": "b", "overwrite": "yes"}, "overwrite"),
        ({"project_id": "p", "batch_id": "b", "batchid": "c"}, "batchid"),
    ],
)
def test_list_pages_refuses_bad_input_before_any_request(
    invoke, simulator, bad_input, field
) -> None:
    # Given an execution input with one thing wrong
    event = {**load_event("list-pages.json"), "input": bad_input}
    # When ListPages runs / Then it raises InvalidInput naming the field, having asked nothing
    with pytest.raises(InvalidInput) as raised:
        invoke("list_pages", event)
    assert str(raised.value).startswith(field + ":")
    assert sum(simulator.stats.requests.values()) == 0


def test_list_pages_stops_on_a_refused_key(invoke, secrets, api_key_secret, simulator) -> None:
    # Given a secret holding a key Playment refuses
    secrets.put_secret_value(SecretId=api_key_secret, SecretString='{"api_key": "revoked"}')
    # When ListPages runs / Then it raises PlaymentAuthError after one request
    with pytest.raises(PlaymentAuthError, match="rejected the API key"):
        invoke("list_pages", load_event("list-pages.json"))
    assert sum(simulator.stats.requests.values()) == 1


def test_fetch_result_exports_its_page_and_records_outcomes(invoke, s3, simulator, capsys) -> None:
    # Given a page of three completed jobs and one not completed (job 8)
    event = load_event("fetch-result.json")
    # When FetchResult runs on it
    result = invoke("fetch_result", event)
    # Then three results are in S3, byte-identical, and the outcome object says so
    assert result == {"batch_id": "batch-a", "page": 0, "exported": 3, "skipped": 1, "failed": 0}
    for job_id in event["page"]["job_ids"][:3]:
        body = s3.get_object(Bucket=BUCKET, Key=f"batch-a/{job_id}.json")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == simulator.catalog.body_sha256(
            "demo-project", job_id
        )
    outcome = read_json(s3, "_exports/sample-execution/outcomes/pages/batch-a/000000.json")
    assert [o["status"] for o in outcome["outcomes"]] == ["exported"] * 3 + ["skipped"]
    # And the key is in no log line
    assert API_KEY not in capsys.readouterr().out


def test_write_report_counts_a_page_without_outcome_as_failed(invoke, s3) -> None:
    # Given a manifest of two pages, only the first of which recorded its outcome
    invoke("list_pages", load_event("list-pages.json"))
    manifest = read_json(s3, "_exports/sample-execution/pages.json")
    first_page = {"execution": "sample-execution", "overwrite": False, "page": manifest[0]}
    invoke("fetch_result", first_page)
    listing = {**load_event("write-report.json")["listing"], "pages": len(manifest)}
    # When WriteReport runs
    result = invoke("write_report", {"execution": "sample-execution", "listing": listing})
    # Then the jobs of every page without an outcome are failed, the run is not complete,
    # and the report names each one
    missing = sum(len(page["job_ids"]) for page in manifest[1:])
    assert result["complete"] is False
    assert result["auth_failed"] is False
    assert result["totals"]["failed"] == missing
    assert result["totals"]["exported"] == len(manifest[0]["job_ids"])
    assert result["report_key"] in result["cause"]
    report = read_json(s3, result["report_key"])
    assert {f["error_code"] for f in report["failed"]} == {"no_outcome"}
    assert len(report["failed"]) == missing
    assert report["skipped_by_reason"] == {"not_completed": 250 // 9 + 180 // 9}


def test_write_report_on_the_sample_event_after_a_full_page(invoke, s3) -> None:
    # Given the sample page exported and a one-page manifest
    page = load_event("fetch-result.json")
    s3.put_object(
        Bucket=BUCKET, Key="_exports/sample-execution/pages.json", Body=json.dumps([page["page"]])
    )
    invoke("fetch_result", page)
    # When WriteReport runs on its sample event
    result = invoke("write_report", load_event("write-report.json"))
    # Then the run is complete: three exported, one skipped, nothing failed
    assert result["complete"] is True
    assert result["totals"] == {
        "jobs": 4,
        "exported": 3,
        "skipped": 1,
        "failed": 0,
        "bytes": result["totals"]["bytes"],
    }
    assert result["totals"]["bytes"] > 0


def test_list_pages_takes_every_batch_with_completed_jobs(invoke, s3, start_simulator) -> None:
    # Given a project of four batches, one of them empty, exported with all_batches
    catalog = sample_catalog("proj", {"b1": 120, "b2": 30, "empty": 0, "b4": 5})
    simulator = start_simulator(catalog)
    event = {"execution": "all-batches", "input": {"project_id": "proj", "all_batches": True}}
    # When ListPages runs
    result = invoke("list_pages", event, PLAYMENT_API_URL=simulator.api_url)
    # Then the batches come from the project's details, the empty one left out and said so
    assert result["batch_ids"] == ["b1", "b2", "b4"]
    assert result["batches_left_out"] == [{"batch_id": "empty", "reason": "no completed jobs"}]
    assert result["jobs_listed"] == 155
    assert simulator.stats.requests["details"] == 1
    assert simulator.stats.requests["list"] == 2 + 1 + 1


@pytest.mark.parametrize(
    ("bad_input", "field"),
    [
        ({"project_id": "p", "all_batches": True, "batch_id": "b"}, "batch_id"),
        ({"project_id": "p", "all_batches": "yes"}, "all_batches"),
    ],
)
def test_all_batches_is_checked_like_any_field(invoke, simulator, bad_input, field) -> None:
    # Given all_batches mixed with batch IDs, or not a boolean
    event = {"execution": "x", "input": bad_input}
    # When ListPages runs / Then InvalidInput names the field, and nothing was asked
    with pytest.raises(InvalidInput) as raised:
        invoke("list_pages", event)
    assert str(raised.value).startswith(field + ":")
    assert sum(simulator.stats.requests.values()) == 0
