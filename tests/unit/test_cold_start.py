"""Each handler imports, in a fresh process, as Lambda would import it in a new container."""

from playment_bench.cold_start import handler_import_times


def test_every_handler_imports_in_a_fresh_process_without_the_network() -> None:
    # Given the three functions of the template
    # When each app.py is imported once with -X importtime (network calls fail the import)
    times = handler_import_times(runs=1)

    # Then each took a measurable time
    assert set(times) == {"fetch_result", "list_pages", "write_report"}
    assert all(ms > 0 for ms in times.values())
