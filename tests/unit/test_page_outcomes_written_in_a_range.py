"""Which pages of a range have an outcome: only those of the range, however many the run has
(records on a local folder)."""

from pathlib import Path

from playment_exporter.outcomes import PageOutcome
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_folder import FolderStorage


def test_only_the_pages_of_the_range_with_an_outcome_are_found(tmp_path: Path) -> None:
    # Given a run with outcomes for pages 0 to 5 and 8, but none for 6 and 7
    records = RunRecords(FolderStorage(tmp_path), "run-3")
    for page in (0, 1, 2, 3, 4, 5, 8):
        records.write_page_outcome(
            PageOutcome(project_id="p1", batch_id="b1", page=page, outcomes=[])
        )
    # When the pages from 3 to 7 are looked up
    found = records.page_outcomes_written(3, 7)
    # Then only the range's pages with an outcome are found: none before it, none after it
    assert found == {3, 4, 5}
