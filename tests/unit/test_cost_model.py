"""The cost model counts what the definition and the template say, and prices it as written."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from playment_bench.cost import (
    PRICES_CHECKED_ON,
    S3_STANDARD_PER_PUT,
    SFN_STANDARD_PER_TRANSITION,
    CostEstimate,
    CostInputs,
    deployed_sizes,
    estimate,
    format_estimate,
    success_path,
    transition_paths,
)

MILLION = 1_000_000


def _inputs(**changes: Any) -> CostInputs:
    measured = CostInputs(
        jobs=MILLION, fetch_page_seconds=2.0, list_seconds_per_100_jobs=0.15, report_seconds=5.0
    )
    return replace(measured, **changes)


def _other_lines(result: CostEstimate) -> list[tuple[str, str, str, float]]:
    return [
        (line.service, line.item, line.quantity, line.dollars)
        for line in result.lines
        if line.service != "Step Functions"
    ]


def test_transitions_counted_from_the_definition_match_a_hand_count() -> None:
    # Given the deployed definition, counted by hand: the parent enters ListPages, AnyPages
    # (Default: there are pages), FetchPages, WriteReport, Verdict (Default: complete) and
    # ExportComplete; each child enters FetchPage, and the distributed Map bills its start.
    hand_parent = (
        "ListPages",
        "AnyPages",
        "FetchPages",
        "WriteReport",
        "Verdict",
        "ExportComplete",
    )
    hand_child = ("FetchPage",)

    # When the model walks the definition
    paths = transition_paths()

    # Then it finds the same states, and 1,000,000 jobs (10,000 pages) cost 6 + 10,000 x 2
    assert paths.parent == hand_parent
    assert paths.child == hand_child
    assert paths.standard(pages=10_000) == 20_006
    assert paths.express(pages=10_000) == 10_006
    step_functions = estimate(_inputs()).line("Step Functions", "transitions (STANDARD children)")
    assert step_functions.dollars == pytest.approx(20_006 * SFN_STANDARD_PER_TRANSITION)
    assert step_functions.dollars == pytest.approx(0.50015)


def test_a_choice_is_followed_by_its_default_and_a_path_may_not_end_in_fail() -> None:
    # Given a machine whose Choice defaults to a Fail state
    machine = {
        "StartAt": "Check",
        "States": {
            "Check": {"Type": "Choice", "Choices": [], "Default": "Broken"},
            "Broken": {"Type": "Fail"},
        },
    }
    # When its success path is walked / Then the walk refuses to call it one
    with pytest.raises(ValueError, match="Fail state Broken"):
        success_path(machine)


def test_s3_puts_for_a_million_jobs_at_one_put_each_cost_five_dollars() -> None:
    # Given 1,000,000 jobs exported at one PutObject each, and the same with none
    with_results = estimate(_inputs(s3_puts_per_job=1.0)).line("S3 PUT", "PutObject")
    without = estimate(_inputs(s3_puts_per_job=0.0)).line("S3 PUT", "PutObject")

    # Then the results' PUTs cost exactly $5.00, and the line adds 10,000 outcome objects
    # and the execution's manifest, listing outcome, report and two ResultWriter files
    assert with_results.dollars - without.dollars == pytest.approx(5.00, abs=1e-9)
    assert with_results.quantity == "1,010,005 PUT"
    assert with_results.dollars == pytest.approx(1_010_005 * S3_STANDARD_PER_PUT)


def test_doubling_the_page_duration_doubles_fetch_result_compute() -> None:
    # Given the measured page duration, and twice it
    once = estimate(_inputs(fetch_page_seconds=2.0)).line("Lambda compute", "FetchResult")
    twice = estimate(_inputs(fetch_page_seconds=4.0)).line("Lambda compute", "FetchResult")

    # Then FetchResult's compute doubles: 10,000 pages x 2 s x 0.5 GB = 10,000 GB-s, then 20,000
    assert once.dollars == pytest.approx(10_000 * 0.0000133334)
    assert twice.dollars == pytest.approx(2 * once.dollars)


def test_the_total_is_the_sum_of_the_lines() -> None:
    # Given an estimate with every optional line present
    result = estimate(_inputs(log_bytes_per_invocation=1_000))

    # Then the total is the sum of its lines, and of its services
    assert result.total == pytest.approx(sum(line.dollars for line in result.lines))
    assert result.total == pytest.approx(sum(result.by_service().values()))
    assert set(result.by_service()) == {
        "Step Functions",
        "Lambda compute",
        "Lambda requests",
        "S3 PUT",
        "S3 other",
        "Secrets Manager",
        "CloudWatch Logs",
    }
    assert result.per_million_jobs == pytest.approx(result.total)


def test_express_and_standard_children_differ_in_the_step_functions_line_only() -> None:
    # Given the same workload with STANDARD children (as deployed) and with EXPRESS ones
    standard = estimate(_inputs(child_execution_type="STANDARD"))
    express = estimate(_inputs(child_execution_type="EXPRESS"))

    # Then every other line is the same, and each estimate carries the other's figure
    assert _other_lines(standard) == _other_lines(express)
    assert standard.by_service()["Step Functions"] != express.by_service()["Step Functions"]
    assert standard.other_child_type == express.lines[0]
    assert express.other_child_type == standard.lines[0]
    # 10,006 transitions + 10,000 requests + 10,000 x 2 s x 64 MB of duration
    assert express.by_service()["Step Functions"] == pytest.approx(
        10_006 * 0.025 / 1_000 + 10_000 * 1e-6 + 10_000 * 2.0 * 0.0625 * 0.00001667
    )


def test_memory_sizes_come_from_the_function_else_from_globals(tmp_path: Path) -> None:
    # Given a template where FetchResult sets no MemorySize and the Globals set 1024
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters: {MapMaxConcurrency: {Type: Number, Default: 7}}\n"
        "Globals: {Function: {MemorySize: 1024, Timeout: 60}}\n"
        "Resources:\n"
        "  FetchResultFunction: {Type: AWS::Serverless::Function, Properties: {}}\n"
        "  ListPagesFunction: {Type: AWS::Serverless::Function, Properties: {MemorySize: 256}}\n"
        "  WriteReportFunction: {Type: AWS::Serverless::Function, Properties: {Timeout: 900}}\n"
    )

    # When the sizes are read
    sizes = deployed_sizes(template)

    # Then each function's own setting wins, the Globals fill the rest
    assert sizes.fetch_result.memory_mb == 1024
    assert sizes.list_pages.memory_mb == 256
    assert (sizes.write_report.memory_mb, sizes.write_report.timeout_s) == (1024, 900)
    assert sizes.map_max_concurrency == 7
    # and the deployed template is what the model prices by default
    deployed = _inputs().deployed
    assert (deployed.fetch_result.memory_mb, deployed.list_pages.memory_mb) == (512, 256)


def test_a_listing_past_its_timeout_is_flagged_and_the_table_says_when_prices_were_read() -> None:
    # Given 1,000,000 jobs listed at 0.15 s per 100: 1,500 s in one execution, 750 s in two
    one = estimate(_inputs(executions=1))
    two = estimate(_inputs(executions=2))

    # Then only the single execution is flagged, and the table shows the price date
    assert any("ListPages would run 1,500 s" in text for text in one.warnings)
    assert two.warnings == ()
    table = format_estimate(one)
    assert f"checked {PRICES_CHECKED_ON}" in table
    assert "Per 1,000,000 jobs" in table
    assert "WARNING: ListPages" in table
