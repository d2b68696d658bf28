"""An export listed in bounded steps, on the local engine: the state machine loops listing
step -> distributed Map over that step's chunk, until the listing's cursor comes back empty.
The step bound is made tiny through the template's ListingStepJobs, as a user would."""

import dataclasses

from playment_simulator import Catalog, FaultPlan, SimProject, sample_catalog
from playment_simulator.paging import TOKEN_BASE
from tests.e2e.conftest import assert_byte_identical, completed, report_jobs

PROJECT = "demo-project"
BATCHES = {"b1": 45, "b2": 25, "b3": 35}
TWICE = "b2-job-00003"  # listed on b2's first page, and again on its last


def catalog_with_a_job_listed_twice() -> Catalog:
    sample = sample_catalog(PROJECT, BATCHES, not_completed_every=9)
    project = sample.project(PROJECT)
    assert project is not None
    batches = tuple(
        dataclasses.replace(batch, listed_twice=(TWICE,)) if batch.id == "b2" else batch
        for batch in project.batches
    )
    return Catalog([SimProject(PROJECT, batches)])


def test_an_export_listed_in_tiny_steps_fetches_and_counts_every_job_once(
    start_simulator, local_engine
) -> None:
    # Given three batches of several pages (10 jobs a page), a job b2 lists twice, in two
    # different steps, and Playment refusing the page token the first step carries into the
    # second; listing steps of 30 jobs (3 pages)
    catalog = catalog_with_a_job_listed_twice()
    refused = FaultPlan(scripted={("list", f"b1@{TOKEN_BASE + 30}"): ["token_refused"]})
    simulator = start_simulator(catalog, page_size=10, faults=refused)
    engine = local_engine(simulator, ListingStepJobs="30")
    # When the three batches are exported in one execution
    result = engine.run({"project_id": PROJECT, "batch_ids": list(BATCHES)})
    # Then it succeeded, listing in several steps, each followed by its own Map run
    assert result.status == "SUCCEEDED", result.cause
    events = engine.history(result.name)
    map_runs = sum(1 for event in events if event["type"] == "MapRunStarted")
    listing_steps = sum(
        1
        for event in events
        if event["type"] == "TaskScheduled"
        and "ListPagesFunction" in event["taskScheduledEventDetails"]["parameters"]
    )
    assert listing_steps >= 4
    assert 3 <= map_runs <= listing_steps
    # And the refused token was met by listing b1 again, not by failing
    assert simulator.stats.faults == {"token_refused": 1}
    # And every completed job was fetched once, stored byte-identical, and every job counted
    # once, the one listed twice included
    wanted = [job for batch in BATCHES for job in completed(catalog, PROJECT, batch)]
    assert simulator.stats.requests["storage"] == len(wanted)
    for batch in BATCHES:
        assert_byte_identical(engine, catalog, PROJECT, batch)
    report = result.report
    assert report is not None
    assert report["totals"]["jobs"] == sum(BATCHES.values())
    assert report["totals"]["exported"] == len(wanted)
    assert report["totals"]["skipped"] == sum(BATCHES.values()) - len(wanted)
    assert report["batch_ids"] == list(BATCHES)
    assert len(report_jobs(engine, result.name, "skipped")) == report["totals"]["skipped"]


def test_a_second_run_lists_in_steps_and_counts_exported_jobs_without_listing_them(
    start_simulator, local_engine
) -> None:
    # Given the same batches already exported, listed in steps of 30
    catalog = sample_catalog(PROJECT, BATCHES, not_completed_every=9)
    simulator = start_simulator(catalog, page_size=10)
    engine = local_engine(simulator, ListingStepJobs="30")
    export = {"project_id": PROJECT, "batch_ids": list(BATCHES)}
    assert engine.run(export).succeeded
    downloads = simulator.stats.requests["storage"]
    # When they are exported again
    again = engine.run(export)
    # Then nothing is fetched, and the report counts the exported jobs without naming them
    assert again.succeeded
    assert simulator.stats.requests["storage"] == downloads
    report = again.report
    assert report is not None
    assert report["skipped_by_reason"]["already_exported"] == downloads
    assert {entry["reason"] for entry in report_jobs(engine, again.name, "skipped")} == {
        "not_completed"
    }


def test_a_scheduled_run_over_an_unchanged_project_lists_nothing_again(
    start_simulator, local_engine
) -> None:
    # Given a project of three batches exported whole with all_batches, as the schedule does
    catalog = sample_catalog(PROJECT, BATCHES, not_completed_every=9)
    simulator = start_simulator(catalog, page_size=10)
    engine = local_engine(simulator)
    scheduled = {"project_id": PROJECT, "all_batches": True}
    assert engine.run(scheduled).succeeded
    requests = dict(simulator.stats.requests)
    # When the schedule runs again and nothing changed
    again = engine.run(scheduled)
    # Then it asked for the project's details once and listed no batch
    assert again.succeeded
    assert simulator.stats.requests["details"] == requests["details"] + 1
    assert simulator.stats.requests["list"] == requests["list"]
    # And the report says which batches were left out, and why
    report = again.report
    assert report is not None
    assert report["batch_ids"] == []
    assert [entry["batch_id"] for entry in report["batches_left_out"]] == list(BATCHES)
    assert all("unchanged since" in entry["reason"] for entry in report["batches_left_out"])
    # When it runs with overwrite, or asks for a full listing / Then every batch is listed
    for forcing in ({"overwrite": True}, {"full_listing": True}):
        listed = simulator.stats.requests["list"]
        forced = engine.run({**scheduled, **forcing})
        assert forced.succeeded
        assert forced.report is not None
        assert forced.report["batch_ids"] == list(BATCHES)
        assert simulator.stats.requests["list"] == listed + 5 + 3 + 4
