"""``make scale``'s smaller copy: the real state machine on the local engine over projects of
10,000 and 40,000 jobs (0.2% completed) and of 250 and 1,000 batches, every invocation's peak
memory and every state's size measured (``playment_bench.scale``), held to the same bounds."""

import pytest

from playment_bench.scale import bounds
from playment_bench.scale.engine_run import measure_suite
from playment_bench.scale.figures import ExportFigures
from playment_bench.scale.projects import small_suite

SUITE = small_suite()


@pytest.fixture(scope="module")
def exports() -> dict[str, ExportFigures]:
    """Each project of the suite exported once, for every test here."""
    return {export.project: export for export in measure_suite(SUITE)}


@pytest.mark.slow
def test_every_export_counts_every_job_and_stays_within_the_absolute_bounds(exports) -> None:
    # Given each project exported on the local engine (the fixture)
    # When its figures are held to the absolute bounds
    found = [violation for export in exports.values() for violation in bounds.absolute(export)]
    # Then each ended ExportIncomplete with every job counted, no invocation held more than
    # 150 MiB or ran past its timeout, no state passed 128 KiB
    assert found == [], "\n".join(map(str, found))
    # And the figures are measured ones: every listing and report step has a peak, every
    # state a size
    for export in exports.values():
        functions = {function.function: function for function in export.functions()}
        assert functions["ListPages"].max_peak_bytes
        assert functions["WriteReport"].max_peak_bytes
        assert {"ListPages", "FetchPages", "WriteReport"} <= {s.state for s in export.states}
        assert all(state.max_input_bytes > 0 for state in export.states)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="at this small size, one WriteReport step reads every chunk and moto, in the same "
    "process, keeps the job lists it writes (under 1 MiB each) in memory, which tracemalloc "
    "counts as the step's (7.8 -> 20.4 MiB); at make scale's sizes the lists spool to disk "
    "and the step is flat (89.2 -> 89.5 MiB): to be measured with S3 out of process",
)
def test_no_per_step_figure_grows_with_the_project(exports) -> None:
    # Given each pair of projects, the larger four times the smaller, in steps as large
    # When the larger's per-step figures are held to the smaller's
    found = [
        violation
        for smaller, larger in SUITE.growth_pairs
        for violation in bounds.growth(exports[smaller], exports[larger])
    ]
    # Then none grew past its tolerance: each function's peak memory, event and result, each
    # state's input and output
    assert found == [], "\n".join(map(str, found))
