"""Least privilege, proven by execution: every statement of every function's role is needed.

The local engine runs each function under its role in template.yaml as SAM translates it,
with moto's IAM enforcing it (``playment_local.iam_enforcement``); every e2e test runs so.
Here each statement is taken out of the translated template in turn, and the same export
must then break where AWS would break it: with an AccessDenied.
"""

import copy
import dataclasses
import json
import logging
from typing import Any

import pytest

from playment_simulator import Catalog, FaultPlan, SimProject
from tests.e2e.conftest import report_jobs, segmentation_catalog

PROJECT = "demo-project"
# Every statement the function roles hold unconditionally, by role and Sid. The KMS ones
# (DecryptApiKey, UseResultsBucketKey) exist only for a user's own KMS key, which the local
# engine does not use.
NEEDED = {
    "ListPagesFunctionRole": (
        "ReadApiKey",
        "ListExportedResults",
        "ReadAndWriteRunRecords",
        "TellOwnResults",
        "CheckResultsBucketHome",
    ),
    "FetchResultFunctionRole": ("ReadApiKey", "WriteResultsAndOutcomes", "TakeBackFailedJobFiles"),
    "WriteReportFunctionRole": ("ListOutcomes", "ReadAndWriteBookkeeping"),
}
# Needed on a path no single export here can take (a page's call run again by Step
# Functions): proven in tests/integration/test_iam_enforcement.py, under the same role.
PROVEN_ELSEWHERE = {"FetchResultFunctionRole": ("TellOwnResults",)}
# The export below: one job's second referenced file is broken, so its first one, already
# written, must be taken back (FetchResult's s3:DeleteObject); it is listed in steps of 5
# jobs, and one job is listed again in a later step, so that ListPages must ask a result
# which execution wrote it (s3:GetObject for HeadObject).
BROKEN = FaultPlan(permanent={("storage", "seg-007/cloud-7.pcd"): "not_json"})
EXPORT = {"project_id": PROJECT, "batch_id": "seg", "include_referenced": True}
STEPS = {"ListingStepJobs": "5"}


def catalog() -> Any:
    sample = segmentation_catalog(PROJECT)
    project = sample.project(PROJECT)
    assert project is not None
    (batch,) = project.batches
    return Catalog([SimProject(PROJECT, (dataclasses.replace(batch, listed_twice=("seg-002",)),))])


def start(start_simulator: Any) -> Any:
    return start_simulator(catalog(), faults=BROKEN, page_size=5)


def unconditional_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"]["Policies"]
        if "PolicyDocument" in policy
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def without(translated: dict[str, Any], role_name: str, sid: str) -> dict[str, Any]:
    """The translated template with statement ``sid`` taken out of ``role_name``."""
    changed = copy.deepcopy(translated)
    for policy in changed["Resources"][role_name]["Properties"]["Policies"]:
        if "PolicyDocument" in policy:
            statements = policy["PolicyDocument"]["Statement"]
            policy["PolicyDocument"]["Statement"] = [s for s in statements if s.get("Sid") != sid]
    assert unconditional_statements(changed["Resources"][role_name]) != (
        unconditional_statements(translated["Resources"][role_name])
    ), f"{role_name} has no statement {sid}"
    return changed


def test_the_list_of_needed_statements_is_every_statement_the_roles_hold(
    translated_template,
) -> None:
    # Given the function roles SAM generates / Then each of their statements is tested below
    roles = {
        name: tuple(s["Sid"] for s in unconditional_statements(resource))
        for name, resource in translated_template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and name.endswith("FunctionRole")
    }
    proven = {role: NEEDED.get(role, ()) + PROVEN_ELSEWHERE.get(role, ()) for role in roles}
    assert {role: sorted(sids) for role, sids in roles.items()} == {
        role: sorted(sids) for role, sids in proven.items()
    }


def test_with_every_statement_the_export_runs_as_designed(
    start_simulator, local_engine, caplog
) -> None:
    # Given the roles as the template grants them, enforced
    engine = local_engine(start(start_simulator), **STEPS)
    # When the batch is exported with its referenced files
    with caplog.at_level(logging.ERROR, logger="playment_local"):
        result = engine.run(EXPORT)
    # Then no call was refused: the one broken job failed for its own reason, and the file
    # it had written was taken back
    assert "AccessDenied" not in caplog.text
    assert (result.status, result.error) == ("FAILED", "ExportIncomplete")
    assert result.report is not None
    assert result.report["totals"] == {**result.report["totals"], "jobs": 12, "exported": 11}
    assert result.report["totals"]["failed"] == 1
    (failed,) = report_jobs(engine, result.name, "failed")
    assert (failed["job_id"], failed["error_code"]) != ("seg-007", "cleanup_failed")
    assert engine.keys("seg/seg-007") == []
    assert len(engine.keys("seg/")) == 11 * 4


@pytest.mark.parametrize(
    "statement", [f"{role}.{sid}" for role, sids in NEEDED.items() for sid in sids]
)
def test_taking_out_any_statement_breaks_the_export_with_access_denied(
    start_simulator, local_engine, translated_template, caplog, statement
) -> None:
    # Given the roles with one statement taken out
    role, sid = statement.split(".")
    engine = local_engine(
        start(start_simulator), template=without(translated_template, role, sid), **STEPS
    )
    # When the same batch is exported
    with caplog.at_level(logging.ERROR, logger="playment_local"):
        result = engine.run(EXPORT)
    # Then a call was refused with AccessDenied, and the export did not end as designed.
    # (moto renders a refusal of a JSON-protocol call, Secrets Manager's, as XML, so botocore
    # reads only its status: the API-key error then names 403, not AccessDeniedException;
    # a refused HeadObject has no body at all, so S3 says only 403 Forbidden.)
    failed = report_jobs(engine, result.name, "failed")
    said = json.dumps([result.error, result.cause, result.report, failed]) + caplog.text
    refused_secret = "could not read the API key from secret" in said and ": 403" in said
    refused_head = "HeadObject operation: Forbidden" in said
    assert "AccessDenied" in said or (sid == "ReadApiKey" and refused_secret) or refused_head
    designed = (
        result.status == "FAILED"
        and result.error == "ExportIncomplete"
        and result.report is not None
        and result.report["totals"]["exported"] == 11
        and [f["error_code"] for f in failed] != ["cleanup_failed"]
        and engine.keys("seg/seg-007") == []
    )
    assert not designed


def test_a_listing_outside_the_granted_prefix_is_refused(
    start_simulator, local_engine, translated_template, caplog
) -> None:
    # Given ListPages' listing granted only under another prefix (its s3:prefix condition)
    changed = copy.deepcopy(translated_template)
    role = changed["Resources"]["ListPagesFunctionRole"]
    (listing,) = [s for s in unconditional_statements(role) if s["Sid"] == "ListExportedResults"]
    listing["Condition"] = {"StringLike": {"s3:prefix": "elsewhere/*"}}
    engine = local_engine(start(start_simulator), template=changed, **STEPS)
    # When the batch is exported / Then its listing of exported results is refused
    result = engine.run(EXPORT)
    assert result.status == "FAILED"
    assert "AccessDenied" in str(result.cause)
    assert "ListObjectsV2" in str(result.cause)
