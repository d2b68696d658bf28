"""The cost model counts what the definition and the template say, and prices it as written."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from playment_bench.cost import (
    PRICES_CHECKED_ON,
    S3_STANDARD_PER_GET,
    S3_STANDARD_PER_PUT,
    SFN_STANDARD_PER_TRANSITION,
    CostEstimate,
    CostInputs,
    deployed_sizes,
    estimate,
    format_estimate,
    path_loops,
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


def _small_steps(**changes: Any) -> CostInputs:
    """Listing steps of 1,000 jobs, so a small export runs the loop a few times."""
    return _inputs(deployed=replace(deployed_sizes(), listing_step_jobs=1_000), **changes)


def test_the_parent_is_read_as_states_entered_once_and_two_loops() -> None:
    # Given the deployed definition, read by hand: BeginListing, then ListPages, AnyPages
    # (Default: there are pages), FetchPages and MoreToList, which loops back to ListPages
    # while the cursor is not null; then BeginReport, then WriteReport and ReportDone, which
    # loops back to WriteReport while there is progress (Default: the outcome, complete); then
    # OutcomeComplete, AnnounceFinished (the finished event), Verdict (Default: complete) and
    # ExportComplete. Each child enters FetchPage; the distributed Map bills its start.
    # When the model walks the definition
    paths = transition_paths()

    # Then it finds the same states, in the same roles
    assert paths.once == (
        "BeginListing",
        "BeginReport",
        "OutcomeComplete",
        "AnnounceFinished",
        "Verdict",
        "ExportComplete",
    )
    assert paths.listing == ("ListPages", "AnyPages", "FetchPages", "MoreToList")
    assert paths.report == ("WriteReport", "ReportDone")
    assert paths.child == ("FetchPage",)
    # and per execution: 6 once, 4 per listing step, 2 per report step, 2 per page
    assert paths.standard(pages=10, listing_steps=3, report_steps=2) == 6 + 12 + 4 + 20
    assert paths.express(pages=10, listing_steps=3, report_steps=2) == 6 + 12 + 4 + 10
    # and its history: 2 + 5 states of 2 events + the event's Task (5), per listing step a
    # Task (5), two Choices (2) and the Map (4), per report step a Task and a Choice
    assert paths.history_events(listing_steps=3, report_steps=2) == 17 + 3 * 13 + 2 * 7


def test_an_export_of_2500_jobs_in_three_listing_steps_matches_a_hand_count() -> None:
    # Given 2,500 jobs in one batch, steps of 1,000 jobs, MapMaxConcurrency 40: chunks of
    # 1,000, 1,000 and 500 jobs, cut by page_size_for into pages of 25 (40 pages) and of 13
    # (39 pages: ceil(500 / 13)): 119 pages, read by one report step
    result = estimate(_small_steps(jobs=2_500))

    # Then the layout is the hand's
    assert result.layout.chunk_jobs == (1_000, 1_000, 500)
    assert result.layout.page_sizes == (25, 25, 13)
    assert result.pages == 119
    assert (result.listing_steps, result.report_steps) == (3, 1)
    # transitions: 6 once + 3 x 4 + 1 x 2 + 119 x 2 = 258
    transitions = result.line("Step Functions", "transitions (STANDARD children)")
    assert transitions.quantity == "258 transitions"
    assert transitions.dollars == pytest.approx(258 * SFN_STANDARD_PER_TRANSITION)
    # invocations: 119 FetchResult + 3 ListPages + 1 WriteReport
    assert result.line("Lambda requests", "invocations").quantity == "123 invocations"
    # PUTs: 2,500 results + 119 x (page outcome, index part) + 3 x (manifest, listing outcome,
    # 2 ResultWriter files, the report's 2 job lists) + batches.json + report.json = 2,758
    assert result.line("S3 PUT", "PutObject").quantity == "2,758 PUT"
    # LISTs: one per step for its batch + one per chunk of page outcomes = 6; GETs: 3 by the
    # ItemReader, 2 batch-plan reads by steps 2 and 3, 3 x 2 by the report (manifest, settled
    # jobs), 119 page outcomes, the batch plan once more = 131
    other = result.line("S3 other", "LIST + GET")
    assert other.quantity == "6 LIST + 131 GET"
    assert other.dollars == pytest.approx(6 * S3_STANDARD_PER_PUT + 131 * S3_STANDARD_PER_GET)


def test_a_million_jobs_take_twenty_listing_steps_of_200_pages_of_250() -> None:
    # Given 1,000,000 jobs and the template's ListingStepJobs (50,000): 20 steps, each of 200
    # pages of 250 (PAGE_SIZE), 4,000 pages in one report step (at most 5,000 pages)
    result = estimate(_inputs())

    # Then: 6 + 20 x 4 + 1 x 2 + 4,000 x 2 = 8,088 transitions
    assert result.layout.chunk_pages == (200,) * 20
    assert (result.listing_steps, result.report_steps, result.pages) == (20, 1, 4_000)
    step_functions = result.line("Step Functions", "transitions (STANDARD children)")
    assert step_functions.dollars == pytest.approx(8_088 * SFN_STANDARD_PER_TRANSITION)
    assert result.history_events == 17 + 20 * 13 + 7


def test_the_report_takes_a_step_per_5000_pages() -> None:
    # Given 2,000,000 jobs: 40 steps of 200 pages, 8,000 pages
    result = estimate(_inputs(jobs=2 * MILLION))

    # Then two report steps, and 6 + 40 x 4 + 2 x 2 + 8,000 x 2 = 16,170 transitions
    assert (result.listing_steps, result.report_steps, result.pages) == (40, 2, 8_000)
    assert result.line("Step Functions", "transitions (STANDARD children)").quantity == (
        "16,170 transitions"
    )
    assert result.line("Lambda requests", "invocations").quantity == "8,042 invocations"


def test_a_step_lists_whole_playment_pages_across_batches() -> None:
    # Given 2,500 jobs in two batches of 1,250 and steps of 1,000 jobs: step 1 lists 1,000 of
    # batch 1; step 2 its last 250 and then 800 of batch 2 (pages of 100 until it has 1,000:
    # 250 + 800 = 1,050); step 3 the last 450
    result = estimate(_small_steps(jobs=2_500, batches_per_execution=2))

    # Then the steps' jobs and the batches each lists from are the hand's
    assert result.layout.chunk_jobs == (1_000, 1_050, 450)
    assert result.layout.chunk_batches == (1, 2, 1)
    # pages: 40 of 25; 27 of ceil(1,050 / 40) = 27 jobs, per batch piece: 10 + 30 = 40;
    # 12 of 450 / 40 -> 12 jobs: ceil(450 / 12) = 38
    assert result.layout.page_sizes == (25, 27, 12)
    assert result.layout.chunk_pages == (40, 40, 38)


def test_loops_are_found_where_a_choice_leads_back() -> None:
    # Given a machine: A, then B and C looping back to B, then D
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Task", "Resource": "x", "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.more", "BooleanEquals": True, "Next": "B"}],
                "Default": "D",
            },
            "D": {"Type": "Succeed"},
        },
    }
    # When its path and loops are read / Then the loop is B, C and the path goes on to D
    path = success_path(machine)
    assert path == ("A", "B", "C", "D")
    assert path_loops(machine, path) == (("B", "C"),)


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

    # Then the results' PUTs cost exactly $5.00, and the line adds 4,000 outcome objects and
    # 4,000 index parts, per listing step (20) a manifest, a listing outcome, two
    # ResultWriter files and the report's two job lists, and the execution's batch plan and report
    assert with_results.dollars - without.dollars == pytest.approx(5.00, abs=1e-9)
    assert with_results.quantity == "1,008,122 PUT"
    assert with_results.dollars == pytest.approx(1_008_122 * S3_STANDARD_PER_PUT)


def test_doubling_the_page_duration_doubles_fetch_result_compute() -> None:
    # Given the measured page duration, and twice it
    once = estimate(_inputs(fetch_page_seconds=2.0)).line("Lambda compute", "FetchResult")
    twice = estimate(_inputs(fetch_page_seconds=4.0)).line("Lambda compute", "FetchResult")

    # Then FetchResult's compute doubles: 4,000 pages x 2 s x 0.5 GB = 4,000 GB-s, then 8,000
    assert once.dollars == pytest.approx(4_000 * 0.0000133334)
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
    # 4,088 transitions + 4,000 requests + 4,000 x 2 s x 64 MB of duration
    assert express.by_service()["Step Functions"] == pytest.approx(
        4_088 * 0.025 / 1_000 + 4_000 * 1e-6 + 4_000 * 2.0 * 0.0625 * 0.00001667
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


def test_a_listing_step_past_its_timeout_is_flagged_whatever_the_export_size() -> None:
    # Given steps of 50,000 jobs listed at 2 s per 100 (1,000 s a step, past 900 s) and at
    # 1.5 s (750 s); and a million jobs at 0.15 s (75 s a step)
    slow = estimate(_inputs(list_seconds_per_100_jobs=2.0))
    fine = estimate(_inputs(list_seconds_per_100_jobs=1.5))
    ten_times = estimate(_inputs(jobs=10 * MILLION))

    # Then only the slow listing is flagged: a step's time no longer grows with the export
    assert any("ListPages would run 1,000 s" in text for text in slow.warnings)
    assert fine.warnings == ()
    assert ten_times.warnings == ()
    table = format_estimate(slow)
    assert f"checked {PRICES_CHECKED_ON}" in table
    assert "Per 1,000,000 jobs" in table
    assert "WARNING: ListPages" in table


def test_an_execution_past_its_history_limit_is_flagged() -> None:
    # Given steps of 1,000 jobs and 2,000,000 jobs: 2,000 listing steps of 13 events each
    result = estimate(_small_steps(jobs=2 * MILLION))

    # Then the 26,000-odd events are past the 25,000 a STANDARD execution may log
    assert result.history_events > 25_000
    assert any("history events" in text for text in result.warnings)
    assert estimate(_inputs(jobs=2 * MILLION)).warnings == ()


def test_a_million_jobs_cost_at_most_five_dollars_fifty_on_the_assumed_inputs() -> None:
    # Given the inputs make bench assumes when it measures nothing: 2 s per 100 jobs fetched,
    # pages of 250
    result = estimate(_inputs(fetch_page_seconds=5.0))

    # Then the total stays under $5.50 per million jobs, $5.00 of it the results' PUTs
    assert result.per_million_jobs <= 5.50
