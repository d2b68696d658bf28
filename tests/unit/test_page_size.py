"""How many jobs a manifest page holds: sized to the export, for the Map's concurrency."""

from math import ceil

import pytest

from playment_exporter.list_pages import MIN_PAGE_SIZE, PAGE_SIZE, page_size_for


def pages_of(jobs: int, size: int) -> int:
    return ceil(jobs / size)


def test_a_small_export_is_cut_into_one_page_per_allowed_child() -> None:
    # Given 400 jobs to fetch and a Map that may run 40 children at once
    # When the page size is chosen
    size = page_size_for(400, max_concurrency=40)
    # Then the pages are of 10 jobs: 40 pages, one for each child, instead of 4 of 100
    assert size == 10
    assert pages_of(400, size) == 40


@pytest.mark.parametrize(
    ("jobs", "max_concurrency", "expected"),
    [
        (1_000, 40, 25),
        (3_960, 40, 99),
        (150, 5, 30),
    ],
)
def test_between_the_bounds_the_pages_are_the_fewest_jobs_each_child_can_take(
    jobs: int, max_concurrency: int, expected: int
) -> None:
    # Given an export too small to fill every child with full pages
    # When the page size is chosen
    size = page_size_for(jobs, max_concurrency)
    # Then each child gets at most one page, and a page one job smaller would need more children
    assert size == expected
    assert pages_of(jobs, size) <= max_concurrency
    assert pages_of(jobs, size - 1) > max_concurrency


@pytest.mark.parametrize(
    ("jobs", "max_concurrency"),
    [(10_000, 40), (50_000, 40), (9_961, 40), (12_500_000, 10_000), (251, 1)],
)
def test_a_large_export_keeps_pages_of_250(jobs: int, max_concurrency: int) -> None:
    # Given an export with at least as many jobs as the allowed children can take in
    # pages of 250 (or barely fewer)
    # When the page size is chosen / Then it is 250, the cheapest per job
    assert page_size_for(jobs, max_concurrency) == PAGE_SIZE == 250


@pytest.mark.parametrize(
    ("jobs", "max_concurrency"), [(30, 40), (1, 40), (0, 40), (400, 100), (9, 1)]
)
def test_pages_never_shrink_below_the_floor(jobs: int, max_concurrency: int) -> None:
    # Given an export with fewer jobs than 10 for each allowed child
    # When the page size is chosen
    size = page_size_for(jobs, max_concurrency)
    # Then the pages hold 10 jobs, not one or two: a page's fixed cost would dominate
    assert size == MIN_PAGE_SIZE == 10


def test_no_export_makes_a_child_take_a_second_page_it_need_not() -> None:
    # Given every export size up to a little beyond the point where pages of 100 fill the Map,
    # for a few concurrencies
    for max_concurrency in (1, 3, 40, 250):
        for jobs in range(0, PAGE_SIZE * max_concurrency + 500, 7):
            # When the page size is chosen
            size = page_size_for(jobs, max_concurrency)
            # Then it stays within the bounds
            assert MIN_PAGE_SIZE <= size <= PAGE_SIZE
            # And while pages of 100 would leave children idle, no child gets a second page
            if jobs <= PAGE_SIZE * max_concurrency:
                assert pages_of(jobs, size) <= max_concurrency, (jobs, max_concurrency)
            # And no page is bigger than that needs, unless already at the floor
            if size > MIN_PAGE_SIZE and jobs <= PAGE_SIZE * max_concurrency:
                assert pages_of(jobs, size - 1) > max_concurrency, (jobs, max_concurrency)


@pytest.mark.parametrize(
    ("jobs", "max_concurrency", "named"), [(-1, 40, "jobs_to_fetch"), (10, 0, "max_concurrency")]
)
def test_nonsense_arguments_are_refused(jobs: int, max_concurrency: int, named: str) -> None:
    # Given a negative job count or a Map that may run no child
    # When the page size is asked for / Then it refuses, naming the argument
    with pytest.raises(ValueError, match=named):
        page_size_for(jobs, max_concurrency)
