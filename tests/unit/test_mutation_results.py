"""The mutation verdicts kept in the repository: a test change sends the functions it covers
back to be checked, and nothing else."""

import json
from pathlib import Path

import pytest

from playment_mutation.results_store import (
    STATS,
    TEST_HASHES,
    record,
    restore,
)

REPORT_TALLY = "playment_exporter.report.xǁTallyǁadd"
IDS_CHECK = "playment_exporter.ids.x_check_id"


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A mutation workspace after a complete run: two functions, each covered by its own
    test file, every mutant judged; and its verdicts recorded in the repository."""
    tests = tmp_path / "tests"
    (tests / "unit").mkdir(parents=True)
    (tests / "unit" / "test_report.py").write_text("def test_tally(): ...\n")
    (tests / "unit" / "test_ids.py").write_text("def test_check(): ...\n")
    mutants = tmp_path / "build" / "mutants"
    (mutants / "playment_exporter").mkdir(parents=True)
    verdicts = {
        "report.py.meta": {f"{REPORT_TALLY}__mutmut_1": 1, f"{REPORT_TALLY}__mutmut_2": 36},
        "ids.py.meta": {f"{IDS_CHECK}__mutmut_1": 1},
    }
    for name, exit_codes in verdicts.items():
        meta = {
            "exit_code_by_key": exit_codes,
            "hash_by_function_name": {},
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        }
        (mutants / "playment_exporter" / name).write_text(json.dumps(meta))
    stats = {
        "tests_by_mangled_function_name": {
            REPORT_TALLY: ["tests/unit/test_report.py::test_tally"],
            IDS_CHECK: ["tests/unit/test_ids.py::test_check[a]"],
        },
        "duration_by_test": {
            "tests/unit/test_report.py::test_tally": 0.1,
            "tests/unit/test_ids.py::test_check[a]": 0.1,
        },
    }
    (mutants / STATS).write_text(json.dumps(stats))
    results = tmp_path / "results"
    record(results, mutants, tests)
    return {"tests": tests, "mutants": mutants, "results": results}


def verdicts(mutants: Path) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in sorted(mutants.rglob("*.meta")):
        found |= json.loads(meta.read_text())["exit_code_by_key"]
    return found


def test_a_fresh_workspace_starts_from_the_recorded_verdicts(project: dict[str, Path]) -> None:
    # Given a new clone: no mutation workspace, only the recorded verdicts
    fresh = project["mutants"].parent / "fresh-mutants"

    # When the run restores them
    restore(project["results"], fresh, project["tests"])

    # Then every verdict is where mutmut reads it
    assert verdicts(fresh) == verdicts(project["mutants"])
    # And mutmut is left to map which tests cover which function afresh, every test new to it
    stats = json.loads((fresh / STATS).read_text())
    assert stats["tests_by_mangled_function_name"] == {}
    assert stats["duration_by_test"] == {}
    assert json.loads((project["results"] / TEST_HASHES).read_text()).keys() == {
        "tests/unit/test_ids.py",
        "tests/unit/test_report.py",
    }


def test_unchanged_tests_keep_every_verdict(project: dict[str, Path]) -> None:
    # Given nothing changed since the recorded run
    fresh = project["mutants"].parent / "fresh-mutants"

    # When the run restores the verdicts
    restore(project["results"], fresh, project["tests"])

    # Then none is sent back to be checked
    assert None not in verdicts(fresh).values()


def test_a_changed_test_file_sends_back_only_the_functions_it_covers(
    project: dict[str, Path],
) -> None:
    # Given the test of the report's tally edited since the recorded run
    (project["tests"] / "unit" / "test_report.py").write_text("def test_tally(): assert 1\n")
    fresh = project["mutants"].parent / "fresh-mutants"

    # When the run restores the verdicts
    restore(project["results"], fresh, project["tests"])

    # Then the tally's mutants are to be checked again, the IDs' keep their verdict
    assert verdicts(fresh) == {
        f"{REPORT_TALLY}__mutmut_1": None,
        f"{REPORT_TALLY}__mutmut_2": None,
        f"{IDS_CHECK}__mutmut_1": 1,
    }


def test_a_changed_conftest_sends_back_every_function_its_tests_cover(
    project: dict[str, Path],
) -> None:
    # Given a conftest.py added beside the unit tests (a new fixture can change any of them)
    (project["tests"] / "unit" / "conftest.py").write_text("import pytest\n")

    # When the run restores the verdicts into the existing workspace
    restore(project["results"], project["mutants"], project["tests"])

    # Then every function the unit tests cover is checked again
    assert set(verdicts(project["mutants"]).values()) == {None}


def test_a_workspace_newer_than_the_record_is_kept(project: dict[str, Path]) -> None:
    # Given a local run that judged a mutant again after the record was made
    meta_path = project["mutants"] / "playment_exporter" / "ids.py.meta"
    meta = json.loads(meta_path.read_text())
    meta["exit_code_by_key"][f"{IDS_CHECK}__mutmut_1"] = 36
    meta_path.write_text(json.dumps(meta))

    # When the next run restores the recorded verdicts
    restore(project["results"], project["mutants"], project["tests"])

    # Then the workspace's newer verdict stands
    assert verdicts(project["mutants"])[f"{IDS_CHECK}__mutmut_1"] == 36


def test_survivors_and_no_tests_verdicts_are_judged_again(project: dict[str, Path]) -> None:
    # Given a mutant judged "no tests" (a function mutmut had not mapped: new, or moved by a
    # refactor) and a survivor (a test added since may kill it), beside a killed mutant
    meta_path = project["mutants"] / "playment_exporter" / "ids.py.meta"
    meta = json.loads(meta_path.read_text())
    meta["exit_code_by_key"][f"{IDS_CHECK}__mutmut_2"] = 33
    meta["exit_code_by_key"][f"{IDS_CHECK}__mutmut_3"] = 0
    meta_path.write_text(json.dumps(meta))

    # When the next run restores the verdicts
    restore(project["results"], project["mutants"], project["tests"])

    # Then both are to be checked again, the killed one keeps its verdict
    assert verdicts(project["mutants"])[f"{IDS_CHECK}__mutmut_2"] is None
    assert verdicts(project["mutants"])[f"{IDS_CHECK}__mutmut_3"] is None
    assert verdicts(project["mutants"])[f"{IDS_CHECK}__mutmut_1"] == 1


def test_the_recorded_map_still_sends_back_what_a_test_change_touches(
    project: dict[str, Path],
) -> None:
    # Given a workspace whose coverage map was emptied by a run stopped before mutmut mapped
    # the tests again, and then the test of the report's tally edited
    stats_path = project["mutants"] / STATS
    stats = json.loads(stats_path.read_text())
    stats["tests_by_mangled_function_name"] = {}
    stats_path.write_text(json.dumps(stats))
    (project["tests"] / "unit" / "test_report.py").write_text("def test_tally(): assert 1\n")

    # When the next run restores the verdicts
    restore(project["results"], project["mutants"], project["tests"])

    # Then the recorded map still names the tally's mutants as the ones to check again
    assert verdicts(project["mutants"])[f"{REPORT_TALLY}__mutmut_1"] is None
    assert verdicts(project["mutants"])[f"{IDS_CHECK}__mutmut_1"] == 1


def test_a_run_stopped_midway_keeps_what_it_judged_by_the_current_tests(
    project: dict[str, Path],
) -> None:
    # Given a test edited since the record, a restore that sent its function back, and a run
    # that judged one of those mutants again before it was stopped
    (project["tests"] / "unit" / "test_report.py").write_text("def test_tally(): assert 1\n")
    restore(project["results"], project["mutants"], project["tests"])
    meta_path = project["mutants"] / "playment_exporter" / "report.py.meta"
    meta = json.loads(meta_path.read_text())
    meta["exit_code_by_key"][f"{REPORT_TALLY}__mutmut_1"] = 1
    meta_path.write_text(json.dumps(meta))

    # When the next run restores the verdicts, the tests as they were
    restore(project["results"], project["mutants"], project["tests"])

    # Then the verdict judged by today's tests stands; the one not yet judged is still to do
    assert verdicts(project["mutants"])[f"{REPORT_TALLY}__mutmut_1"] == 1
    assert verdicts(project["mutants"])[f"{REPORT_TALLY}__mutmut_2"] is None


def test_a_changed_helper_module_sends_back_every_function_its_folder_s_tests_cover(
    project: dict[str, Path],
) -> None:
    # Given a helper module beside the unit tests when the verdicts were recorded, which any
    # of them may import, changed since
    helper = project["tests"] / "unit" / "slow_bodies.py"
    helper.write_text("class Held: ...\n")
    record(project["results"], project["mutants"], project["tests"])
    helper.write_text("class Held:\n    size = 2\n")

    # When the run restores the verdicts
    restore(project["results"], project["mutants"], project["tests"])

    # Then every function the unit tests cover is checked again
    assert set(verdicts(project["mutants"]).values()) == {None}


def test_a_new_helper_module_alone_sends_back_nothing(project: dict[str, Path]) -> None:
    # Given a helper module added beside the unit tests, no test changed (none can use it yet)
    (project["tests"] / "unit" / "slow_bodies.py").write_text("class Held: ...\n")

    # When the run restores the verdicts
    restore(project["results"], project["mutants"], project["tests"])

    # Then every verdict stands
    assert None not in verdicts(project["mutants"]).values()


def test_a_new_test_file_sends_back_no_caught_verdict_and_meets_every_survivor(
    project: dict[str, Path],
) -> None:
    # Given a survivor of the tally, and a test file added since that covers the tally too
    meta_path = project["results"] / "playment_exporter" / "report.py.meta"
    meta = json.loads(meta_path.read_text())
    meta["exit_code_by_key"][f"{REPORT_TALLY}__mutmut_2"] = 0
    meta_path.write_text(json.dumps(meta))
    (project["tests"] / "unit" / "test_tally_limits.py").write_text("def test_limit(): ...\n")
    fresh = project["mutants"].parent / "fresh-mutants"

    # When the run restores the verdicts
    restore(project["results"], fresh, project["tests"])

    # Then only the survivor is checked again (a test added cannot free a caught mutant)
    assert verdicts(fresh) == {
        f"{REPORT_TALLY}__mutmut_1": 1,
        f"{REPORT_TALLY}__mutmut_2": None,
        f"{IDS_CHECK}__mutmut_1": 1,
    }


def test_a_removed_test_file_sends_back_the_functions_it_covered(
    project: dict[str, Path],
) -> None:
    # Given the test of the IDs deleted since the recorded run (it may have caught them)
    (project["tests"] / "unit" / "test_ids.py").unlink()
    fresh = project["mutants"].parent / "fresh-mutants"

    # When the run restores the verdicts
    restore(project["results"], fresh, project["tests"])

    # Then the IDs' mutants are to be checked again, the tally's keep their verdicts
    assert verdicts(fresh) == {
        f"{REPORT_TALLY}__mutmut_1": 1,
        f"{REPORT_TALLY}__mutmut_2": 36,
        f"{IDS_CHECK}__mutmut_1": None,
    }
