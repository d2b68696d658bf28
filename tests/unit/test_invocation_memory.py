"""Each invocation's peak memory on the local engine (``playment_local.invocation_memory``)."""

import threading
import tracemalloc

from playment_local.invocation_memory import PeakMemory

MiB = 1024 * 1024


def test_invocations_that_overlap_are_said_to_and_one_alone_is_not() -> None:
    # Given two invocations that run at the same time, in two threads, then one alone
    memory = PeakMemory()
    both_running = threading.Barrier(2)
    readings = []

    def invocation(size: int) -> None:
        with memory.measuring() as reading:
            block = bytearray(size)
            both_running.wait()
            readings.append((size, reading))
            assert block

    threads = [threading.Thread(target=invocation, args=(size * MiB,)) for size in (4, 8)]
    # When they run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with memory.measuring() as alone:
        block = bytearray(2 * MiB)
    # Then the two are flagged as overlapped, each peak holding both blocks; the lone one is not
    assert [reading.overlapped for _, reading in readings] == [True, True]
    assert all(reading.peak_bytes >= 12 * MiB for _, reading in readings)
    assert not alone.overlapped
    assert 2 * MiB <= alone.peak_bytes < 3 * MiB
    assert len(block) == 2 * MiB
    # And tracing, started for them, is stopped once none runs
    assert not tracemalloc.is_tracing()


def test_tracing_started_by_someone_else_is_left_on_and_the_peak_is_still_the_invocations() -> None:
    # Given tracemalloc already tracing, 10 MiB held before the invocation, and 50 MiB
    # allocated and freed before it
    tracemalloc.start()
    try:
        held = bytearray(10 * MiB)
        freed = bytearray(50 * MiB)
        del freed
        # When an invocation allocates 1 MiB
        with PeakMemory().measuring() as reading:
            block = bytearray(1 * MiB)
        # Then its peak is its own 1 MiB, and tracing goes on
        assert 1 * MiB <= reading.peak_bytes < 2 * MiB
        assert tracemalloc.is_tracing()
        assert len(held) + len(block) == 11 * MiB
    finally:
        tracemalloc.stop()
