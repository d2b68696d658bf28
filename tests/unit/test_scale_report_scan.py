"""How ``make scale`` checks that a local run's report names every job not completed
(``playment_bench.scale.command_run``): the report's files scanned as bytes, whatever their
layout."""

import json
from pathlib import Path

import pytest

from playment_bench.scale import command_run
from playment_simulator.jobs import GeneratedJobs

BATCH = GeneratedJobs("run-1000", 1_000, completed_every=10)  # 900 jobs not completed


def write_report(out: Path, document: dict[str, object], **beside: str) -> Path:
    folder = out / "_exports" / "export-1"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(document))
    for name, text in beside.items():
        (folder / name.replace("__", ".")).write_text(text)
    return folder


def not_ready(indices: range) -> list[dict[str, str]]:
    return [{"job_id": BATCH.job_id(i), "reason": "not_completed"} for i in indices if i % 10]


@pytest.fixture(autouse=True)
def small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of 64 bytes: most job IDs fall across two reads."""
    monkeypatch.setattr(command_run, "READ_BYTES", 64)


def count(out: Path) -> int:
    files = [path for path, _ in command_run._report_files(out)]
    return command_run._named_not_completed(BATCH, files)


def test_every_job_named_in_the_report_is_counted_once(tmp_path: Path) -> None:
    # Given a report naming every job not completed, some twice, and completed ones too
    write_report(tmp_path, {"skipped": not_ready(range(1_000)) + not_ready(range(50))})
    # When its named jobs are counted / Then each of the 900 counts once, completed ones not
    assert count(tmp_path) == 900


def test_jobs_in_a_file_beside_the_report_or_one_it_names_count_and_the_log_does_not(
    tmp_path: Path,
) -> None:
    # Given a report naming 300 jobs, a file beside it naming 300 more, another in a sub-folder
    # that the report names, and the engine's log naming the rest
    lines = "\n".join(json.dumps(entry) for entry in not_ready(range(600, 900)))
    folder = write_report(
        tmp_path,
        {"skipped": not_ready(range(300)), "not_ready": "_exports/export-1/parts/rest.jsonl"},
        not_ready__jsonl="\n".join(json.dumps(e) for e in not_ready(range(300, 600))),
        engine__log=json.dumps(not_ready(range(900, 1_000))),
    )
    (folder / "parts").mkdir()
    (folder / "parts" / "rest.jsonl").write_text(lines)
    # When its named jobs are counted / Then the report's three files count, the log does not
    assert count(tmp_path) == 810


def test_no_report_names_no_job(tmp_path: Path) -> None:
    # Given a run that wrote no report / Then no job is named
    assert count(tmp_path) == 0


def test_jobs_in_the_files_a_report_names_by_pattern_count(tmp_path: Path) -> None:
    # Given a report that names its job lists by a pattern, as report.json does
    # ("report/skipped/*.jsonl"), with the jobs split over two chunks' files
    folder = write_report(
        tmp_path, {"skipped_jobs": {"count": 900, "files": "report/skipped/*.jsonl"}}
    )
    (folder / "report" / "skipped").mkdir(parents=True)
    for chunk, indices in enumerate((range(500), range(500, 1_000))):
        lines = "\n".join(json.dumps(entry) for entry in not_ready(indices))
        (folder / "report" / "skipped" / f"{chunk:06d}.jsonl").write_text(lines)
    # When its named jobs are counted / Then every file the pattern matches counts
    assert count(tmp_path) == 900
