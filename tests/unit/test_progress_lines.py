"""Progress where output is not a terminal: plain lines, on a change of the pages listed and
every so often, never one a poll."""

import pytest

from playment_cli.progress import PROGRESS_PREFIX, PlainProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_when_pages_are_listed_and_then_every_period(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given plain progress every 10 s, polled every 2 s over a run of 30 s
    clock = Clock()
    progress = PlainProgress(10.0, clock)
    states = [(None, 0)] * 2 + [(8, n // 2) for n in range(6)] + [(12, 4 + n) for n in range(8)]
    # When each state is reported, 2 s apart
    for total, done in states:
        progress.update(total, done, "d")
        clock.now += 2
    # Then there is a line at the start, one when pages were first listed (4 s), one 10 s
    # later while nothing was listed (14 s), one when more were listed (16 s), one 10 s later
    # (26 s): 5 lines for 16 polls
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"{PROGRESS_PREFIX}listing, d (0 s)",
        f"{PROGRESS_PREFIX}0 of 8 pages done, d (4 s)",
        f"{PROGRESS_PREFIX}2 of 8 pages done, d (14 s)",
        f"{PROGRESS_PREFIX}4 of 12 pages done, d (16 s)",
        f"{PROGRESS_PREFIX}9 of 12 pages done, d (26 s)",
    ]
