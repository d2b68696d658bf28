"""Each handler called with its sample event from events/: S3 and Secrets in moto, the
simulator on loopback."""

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from playment_exporter.batch_history import HISTORY_PREFIX, BatchHistory
from playment_exporter.errors import (
    InvalidInput,
    PlaymentAuthError,
    ResultsBucketUnusable,
    TransientError,
)
from playment_exporter.outcomes import JobOutcome, PageOutcome, SkipReason
from playment_exporter.run_records import BatchPlan, RunRecords
from playment_exporter.storage_s3 import S3Storage
from playment_local.lambda_context import LocalLambdaContext
from playment_local.lambda_loader import load_handler
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject, sample_catalog
from tests.conftest import API_KEY, BUCKET, FUNCTIONS, load_event


def read_json(s3, key: str):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def job_lists(s3, prefix: str) -> list[dict[str, str]]:
    """Every line of the report's job lists under ``prefix``."""
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    lines = b"".join(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys)
    return [json.loads(line) for line in lines.splitlines()]


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
    settled = read_json(s3, "_exports/sample-execution/outcomes/listing/000000.json")
    assert {o["reason"] for page in settled for o in page["outcomes"]} == {"not_completed"}
    # And the listing is done in one step: no cursor to resume from
    assert (result["cursor"], result["chunks"]) == (None, 1)
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


def test_list_pages_refuses_a_results_bucket_in_another_region_naming_both(
    lambda_env, simulator
) -> None:
    # Given the results bucket made in eu-west-1, and the function running in us-east-1 in
    # account 210987654321 (its ARN, as Lambda's context gives it)
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="far-results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    handler = load_handler(
        FUNCTIONS / "list_pages",
        "app.lambda_handler",
        {**lambda_env, "RESULTS_BUCKET": "far-results"},
    )
    context = LocalLambdaContext(function_name="list-pages", account_id="210987654321")
    # When ListPages runs its first step
    with pytest.raises(ResultsBucketUnusable) as raised:
        handler(load_event("list-pages.json"), context)
    # Then one line names the bucket's region and the stack's region and account, from
    # Lambda's environment and the function's ARN, before anything was asked of Playment
    assert str(raised.value).startswith(
        "results bucket far-results is in eu-west-1, account 210987654321; this stack runs in "
        "us-east-1, account 210987654321: a distributed Map"
    )
    assert sum(simulator.stats.requests.values()) == 0


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
    outcome = read_json(s3, "_exports/sample-execution/outcomes/pages/00000000.json")
    assert [o["status"] for o in outcome["outcomes"]] == ["exported"] * 3 + ["skipped"]
    # And the key is in no log line
    assert API_KEY not in capsys.readouterr().out


def test_write_report_counts_a_page_without_outcome_as_failed(invoke, s3) -> None:
    # Given a manifest of two pages, only the first of which recorded its outcome
    listing = invoke("list_pages", load_event("list-pages.json"))
    manifest = read_json(s3, "_exports/sample-execution/manifests/000000.json")
    first_page = {"execution": "sample-execution", "overwrite": False, "page": manifest[0]}
    invoke("fetch_result", first_page)
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
    failed = job_lists(s3, "_exports/sample-execution/report/failed/")
    assert {f["error_code"] for f in failed} == {"no_outcome"}
    assert len(failed) == report["failed_jobs"]["count"] == missing
    assert report["skipped_by_reason"] == {"not_completed": 250 // 9 + 180 // 9}


def test_write_report_on_the_sample_event_after_a_full_page(invoke, s3) -> None:
    # Given the sample page exported, a one-page manifest, and the batch plan
    page = load_event("fetch-result.json")
    prefix = "_exports/sample-execution/"
    s3.put_object(
        Bucket=BUCKET, Key=prefix + "manifests/000000.json", Body=json.dumps([page["page"]])
    )
    s3.put_object(Bucket=BUCKET, Key=prefix + "outcomes/listing/000000.json", Body=b"[]")
    s3.put_object(Bucket=BUCKET, Key=prefix + "batches.json", Body=b'{"batch_ids": ["batch-a"]}')
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
    event = {
        **load_event("list-pages.json"),
        "execution": "all-batches",
        "input": {"project_id": "proj", "all_batches": True},
    }
    # When ListPages runs
    result = invoke("list_pages", event, PLAYMENT_API_URL=simulator.api_url)
    # Then the batches come from the project's details, the empty one left out and said so
    plan = read_json(s3, "_exports/all-batches/batches.json")
    assert plan["batch_ids"] == ["b1", "b2", "b4"]
    assert plan["left_out"] == [{"batch_id": "empty", "reason": "no completed jobs"}]
    assert result["batches"] == 3
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
    event = {**load_event("list-pages.json"), "execution": "x", "input": bad_input}
    # When ListPages runs / Then InvalidInput names the field, and nothing was asked
    with pytest.raises(InvalidInput) as raised:
        invoke("list_pages", event)
    assert str(raised.value).startswith(field + ":")
    assert sum(simulator.stats.requests.values()) == 0


@pytest.fixture
def printed(capsys) -> Iterator[Callable[[], str]]:
    """What the handlers print from now on: metrics (print) and log lines (the Powertools
    logger's stream, made once per process, so capsys alone would miss it)."""
    from exporter_runtime.observability import logger

    handler, stream = logger.registered_handler, io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    earlier, handler.stream = handler.stream, stream  # not setStream: it flushes the old one,
    capsys.readouterr()  # which may be an earlier test's capture, closed by now
    # The logger is one per process: keys an earlier test's handler appended are still on it
    logger.remove_keys(["execution", "batch_id", "page", "project_id"])
    # The level too is the process's: whoever imported the module first set it (the local
    # engine's tests import it at WARNING); these tests read the INFO lines, as Lambda logs them.
    earlier_level = logger.log_level
    logger.setLevel("INFO")
    yield lambda: stream.getvalue() + capsys.readouterr().out
    handler.stream = earlier
    logger.setLevel(earlier_level)


def emitted(out: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The log records and the metrics (name -> (value, unit)) a handler printed."""
    logs, metrics = [], {}
    for line in out.splitlines():
        record = json.loads(line)
        if "_aws" not in record:
            logs.append(record)
            continue
        for definition in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            metrics[name] = (record[name], definition["Unit"])
    return logs, metrics


def test_fetch_result_publishes_its_counts_and_warns_of_failures(invoke, s3, printed) -> None:
    # Given the sample page plus a job that does not exist (it fails)
    event = load_event("fetch-result.json")
    event["page"]["job_ids"].append("batch-a-job-99999")
    # When FetchResult runs on it
    result = invoke("fetch_result", event)
    # Then it publishes each count and the bytes written as metrics
    logs, metrics = emitted(printed())
    written = sum(
        s3.head_object(Bucket=BUCKET, Key=f"batch-a/{job_id}.json")["ContentLength"]
        for job_id in event["page"]["job_ids"][:3]
    )
    assert metrics == {
        "JobsExported": ([3.0], "Count"),
        "JobsSkipped": ([1.0], "Count"),
        "JobsFailed": ([1.0], "Count"),
        "BytesWritten": ([float(written)], "Bytes"),
    }
    assert result == {"batch_id": "batch-a", "page": 0, "exported": 3, "skipped": 1, "failed": 1}
    # And it warns once, with the counts and the page it was exporting
    warnings = [log for log in logs if log["level"] == "WARNING"]
    assert [log["message"] for log in warnings] == ["page finished with failures"]
    assert {k: warnings[0][k] for k in ("execution", "batch_id", "page", "failed", "exported")} == {
        "execution": "sample-execution",
        "batch_id": "batch-a",
        "page": 0,
        "failed": 1,
        "exported": 3,
    }


def test_fetch_result_without_failures_does_not_warn(invoke, printed) -> None:
    # Given the sample page / When FetchResult runs / Then nothing is logged as a warning
    invoke("fetch_result", load_event("fetch-result.json"))
    logs, _ = emitted(printed())
    assert [log for log in logs if log["level"] == "WARNING"] == []


def test_fetch_result_passes_overwrite_and_referenced_files_on(invoke, s3, start_simulator) -> None:
    # Given a segmentation job whose result is already in S3
    catalog = Catalog(
        [SimProject(id="p", batches=(SimBatch("b", (SimJob("seg", referenced=("m.png",)),)),))]
    )
    simulator = start_simulator(catalog)
    s3.put_object(Bucket=BUCKET, Key="b/seg.json", Body=b'"stale"')
    page = {"project_id": "p", "batch_id": "b", "page": 0, "job_ids": ["seg"]}
    event = {"execution": "e", "overwrite": True, "include_referenced": True, "page": page}
    # When FetchResult runs with overwrite and include_referenced
    result = invoke("fetch_result", event, PLAYMENT_API_URL=simulator.api_url)
    # Then the result was replaced and its file exported beside it
    assert result["exported"] == 1
    body = s3.get_object(Bucket=BUCKET, Key="b/seg.json")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == catalog.body_sha256("p", "seg")
    assert s3.head_object(Bucket=BUCKET, Key="b/seg/m.png")["ContentLength"] > 0


def test_fetch_result_keeps_its_safety_margin(invoke, s3, simulator) -> None:
    # Given an invocation with no more time than the handler keeps in reserve (20 s)
    # When FetchResult runs on the sample page
    result = invoke("fetch_result", load_event("fetch-result.json"), timeout_s=20)
    # Then no job is started: each fails as deadline_exceeded, and nothing was asked
    assert (result["exported"], result["failed"]) == (0, 4)
    outcome = read_json(s3, "_exports/sample-execution/outcomes/pages/00000000.json")
    assert {o["error_code"] for o in outcome["outcomes"]} == {"deadline_exceeded"}
    assert sum(simulator.stats.requests.values()) == 0


def test_write_report_publishes_failures_and_logs_the_summary(invoke, s3, printed) -> None:
    # Given a one-page manifest with no outcome (its 4 jobs count as failed)
    page = load_event("fetch-result.json")["page"]
    prefix = "_exports/sample-execution/"
    s3.put_object(Bucket=BUCKET, Key=prefix + "manifests/000000.json", Body=json.dumps([page]))
    s3.put_object(Bucket=BUCKET, Key=prefix + "outcomes/listing/000000.json", Body=b"[]")
    s3.put_object(Bucket=BUCKET, Key=prefix + "batches.json", Body=b'{"batch_ids": ["batch-a"]}')
    # When WriteReport runs
    result = invoke("write_report", load_event("write-report.json"))
    # Then the failures are a metric, and the summary is logged with the execution
    logs, metrics = emitted(printed())
    assert metrics == {"ExportJobsFailed": ([4.0], "Count")}
    [summary] = [log for log in logs if log["message"] == "report written"]
    assert (summary["execution"], summary["complete"], summary["totals"]) == (
        "sample-execution",
        False,
        result["totals"],
    )


def settled_chunks(s3, chunks: int, plan: BatchPlan) -> RunRecords:
    """The sample execution's records: ``chunks`` listing chunks of batch-a, each settling
    one job as not completed, and the batch plan."""
    records = RunRecords(S3Storage(s3, BUCKET), "sample-execution")
    records.write_batch_plan(plan)
    for chunk in range(chunks):
        job = JobOutcome.skipped(f"job-{chunk}", SkipReason.NOT_COMPLETED)
        settled = PageOutcome(
            project_id="demo-project", batch_id="batch-a", page=-1, outcomes=[job]
        )
        records.write_chunk(chunk, [], [settled])
    return records


def history_keys(s3) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=HISTORY_PREFIX)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_write_report_records_clean_batches_under_the_listings_project(invoke, s3) -> None:
    # Given a clean run of batch-a, listed whole with its details, in project demo-project
    details = {"total_jobs": 1, "completed_jobs": 0}
    settled_chunks(s3, 1, BatchPlan(batch_ids=["batch-a"], fingerprints={"batch-a": details}))
    event = load_event("write-report.json")
    started_at = event["listing"]["started_at"]
    # When WriteReport runs on it
    result = invoke("write_report", event)
    # Then the project's batch history records batch-a clean as of the run's start, so the
    # next scheduled run need not list it again
    assert result["complete"] is True
    assert history_keys(s3) == [f"{HISTORY_PREFIX}demo-project.json"]
    recorded = BatchHistory(S3Storage(s3, BUCKET), "demo-project").read()
    assert set(recorded) == {"batch-a"}
    assert recorded["batch-a"].fingerprint == details
    assert recorded["batch-a"].listed_at == datetime.fromisoformat(started_at)


def test_write_report_without_a_project_keeps_no_history(invoke, s3) -> None:
    # Given a clean run whose listing names no project
    details = {"total_jobs": 1, "completed_jobs": 0}
    settled_chunks(s3, 1, BatchPlan(batch_ids=["batch-a"], fingerprints={"batch-a": details}))
    event = load_event("write-report.json")
    del event["listing"]["project_id"]
    # When WriteReport runs on it
    result = invoke("write_report", event)
    # Then the report is written, and no batch history at all
    assert result["complete"] is True
    assert history_keys(s3) == []


def test_write_report_goes_on_from_the_progress_it_is_given(invoke, s3, printed) -> None:
    # Given two listing chunks, one job settled in each, and invocations with no time beyond
    # the handler's safety margin (30 s): each step reads one chunk, then stops
    settled_chunks(s3, 2, BatchPlan(batch_ids=["batch-a"]))
    event = load_event("write-report.json")
    event["listing"]["chunks"] = 2
    # When WriteReport runs, then again with the progress its first step returned
    first = invoke("write_report", event, timeout_s=30)
    second = invoke("write_report", {**event, "progress": first["progress"]}, timeout_s=30)
    # Then the first step stops after chunk 0 and says so in its log; the second counts
    # chunk 1 on top of it and ends the report
    assert first["progress"]["next_chunk"] == 1
    assert first["progress"]["totals"]["skipped"] == 1
    logs, _ = emitted(printed())
    [step] = [log for log in logs if log["message"] == "report step done"]
    assert (step["execution"], step["next_chunk"]) == ("sample-execution", 1)
    assert second["progress"] is None
    assert second["totals"]["skipped"] == 2
    assert read_json(s3, second["report_key"])["skipped_by_reason"] == {"not_completed": 2}


def test_list_pages_publishes_what_it_planned(invoke, printed) -> None:
    # Given the sample event / When ListPages runs for a Map of 4 children
    result = invoke("list_pages", load_event("list-pages.json"), MAP_MAX_CONCURRENCY="4")
    # Then the jobs listed and the pages planned are metrics, and the plan is logged
    logs, metrics = emitted(printed())
    assert metrics == {"JobsListed": ([430.0], "Count"), "PagesPlanned": ([5.0], "Count")}
    [planned] = [log for log in logs if log["message"] == "listing step done"]
    assert (planned["execution"], planned["project_id"], planned["pages"]) == (
        "sample-execution",
        "demo-project",
        result["pages"],
    )
    assert "cursor" not in planned


def test_list_pages_stops_retrying_before_its_time_runs_out(invoke, start_simulator) -> None:
    # Given a batch listing that always answers 503, and an invocation with 31 s left, of
    # which the handler keeps 30 in reserve
    faults = FaultPlan(permanent={("list", "batch-a"): "503"})
    simulator = start_simulator(faults=faults)
    started = time.monotonic()
    # When ListPages runs / Then it gives up with the transient error within about a second,
    # not after its 60 s retry window
    with pytest.raises(TransientError):
        invoke(
            "list_pages",
            load_event("list-pages.json"),
            timeout_s=31,
            PLAYMENT_API_URL=simulator.api_url,
        )
    assert time.monotonic() - started < 15
