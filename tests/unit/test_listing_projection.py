"""The listing-scale projection's arithmetic (``playment_bench.listing_scale.project``)."""

from dataclasses import replace

import pytest

from playment_bench.cost import deployed_sizes
from playment_bench.listing_scale import format_projection, project


def test_ten_million_jobs_at_a_third_of_a_second_per_listing_page() -> None:
    # Given 10,000,000 jobs in one batch, steps of 50,000 jobs (200 steps of 200 pages of 250),
    # 0.3 s per Playment page of 100, 5 s per fetched page, 1 ms of report per page
    projection = project(
        10_000_000,
        seconds_per_listing_page=0.3,
        fetch_page_seconds=5.0,
        report_seconds_per_page=0.001,
        deployed=replace(deployed_sizes(), listing_step_jobs=50_000, map_max_concurrency=40),
    )

    # Then, counted by hand: 40,000 pages, 8 report steps of at most 5,000 pages
    assert (projection.listing_steps, projection.pages, projection.report_steps) == (
        200,
        40_000,
        8,
    )
    assert projection.invocations == 40_000 + 200 + 8
    # 6 once + 200 x 4 + 8 x 2 + 40,000 x 2
    assert projection.transitions == 6 + 800 + 16 + 80_000
    # 17 once + 200 x 13 + 8 x 7
    assert projection.history_events == 17 + 2_600 + 56
    # listing: 100,000 pages of 100 x 0.3 s; fetching: 200 chunks x 5 rounds of 40 x 5 s;
    # report: 40,000 x 1 ms; one after another
    assert projection.listing_seconds == pytest.approx(30_000)
    assert projection.fetch_seconds == pytest.approx(5_000)
    assert projection.report_seconds == pytest.approx(40)
    assert projection.wall_seconds == pytest.approx(35_040)
    assert projection.estimate.inputs.jobs == 10_000_000
    assert "wall time 35,040 s" in format_projection(projection)
