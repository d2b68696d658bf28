"""The mutation run's verdicts, kept in the repository so that the next run starts from them.

mutmut keeps a verdict per mutant and a hash per mutated function (``mutants/**/*.meta``) and
which tests cover which function (``mutants/mutmut-stats.json``); it re-checks a function's
mutants when the function's source changes, but not when the tests that cover it do, and it
maps coverage only for tests it has not seen. This store adds what is missing: it records a
hash per test file beside the verdicts; on restore it clears the verdicts of every function
covered by a test file that changed or went since (a changed ``conftest.py`` or helper module
counts for every test under its folder), every survivor and every "no tests" verdict, and has
mutmut map coverage afresh. A test file added sends back no caught verdict: the survivors meet
it.

    python -m playment_mutation.results_store restore RESULTS MUTANTS TESTS
    python -m playment_mutation.results_store record RESULTS MUTANTS TESTS
"""

import argparse
import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

STATS = "mutmut-stats.json"
TEST_HASHES = "test-hashes.json"
MUTANT_SEPARATOR = "__mutmut_"
# Judged again on every run: a survivor (0: a test added since may kill it, and mutmut would
# not try, the function unchanged), "no tests" (5: none selected, 33: none cover it) and a
# check interrupted (2).
RECHECKED_EXIT_CODES = frozenset({0, 2, 5, 33})


def test_file_hashes(tests: Path) -> dict[str, str]:
    """Each Python file under ``tests``, by its path as pytest names it (``tests/unit/x.py``)."""
    return {
        f"{tests.name}/{path.relative_to(tests).as_posix()}": hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in sorted(tests.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def changed_test_files(recorded: dict[str, str], current: dict[str, str]) -> set[str]:
    """The files under tests/ changed or removed since ``recorded``, and a new ``conftest.py``
    (its fixtures and hooks reach tests that do not name it). Not a new test file: a test
    added cannot make a caught mutant survive, and the survivors are judged again anyway,
    against every test; nor a new helper module, which no test can use unchanged."""
    names = recorded.keys() | current.keys()
    return {
        name
        for name in names
        if recorded.get(name) != current.get(name)
        and (name in recorded or name.endswith("/conftest.py"))
    }


def _is_test_file(name: str) -> bool:
    return name.rpartition("/")[2].startswith("test_")


def _is_affected(test_name: str, changed: set[str]) -> bool:
    """Whether a change to these files may change what the test does: its own file, or a file
    beside or above it that is not a test (a ``conftest.py``, a helper module it may import)."""
    test_file = test_name.split("::", 1)[0]
    for name in changed:
        if name == test_file:
            return True
        folder = name.rpartition("/")[0]
        if not _is_test_file(name) and test_file.startswith(folder + "/"):
            return True
    return False


def functions_to_recheck(
    tests_by_function: Mapping[str, Iterable[str]], changed: set[str]
) -> set[str]:
    """The mutated functions that a changed test file covers."""
    return {
        function
        for function, tests in tests_by_function.items()
        if any(_is_affected(test, changed) for test in tests)
    }


def clear_verdicts(mutants: Path, functions: set[str]) -> int:
    """Forget the verdicts of these functions' mutants, and every survivor and "no tests"
    verdict; mutmut checks them again. Returns how many verdicts were cleared."""
    cleared = 0
    for meta_path in mutants.rglob("*.meta"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        verdicts: dict[str, int | None] = meta["exit_code_by_key"]
        for key, verdict in verdicts.items():
            stale = key.rpartition(MUTANT_SEPARATOR)[0] in functions
            if verdict is not None and (stale or verdict in RECHECKED_EXIT_CODES):
                verdicts[key] = None
                cleared += 1
        meta_path.write_text(json.dumps(meta, indent=4), encoding="utf-8")
    return cleared


def restore(results: Path, mutants: Path, tests: Path) -> None:
    """Put the recorded verdicts where mutmut reads them (a file mutmut already has is kept:
    it is newer), clear those that a test change made stale, and have mutmut map which tests
    cover which function afresh.

    mutmut maps coverage only for tests it has not seen: a function that a refactor created
    or moved would be covered by no test, and its mutants judged "no tests" without a run.
    So the workspace's map is emptied (one traced run of the tests, a few minutes), and "no
    tests" verdicts are judged again against the new map."""
    for recorded in [*sorted(results.rglob("*.meta")), results / STATS]:
        target = mutants / recorded.relative_to(results)
        if recorded.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(recorded, target)
    stats_path = mutants / STATS
    if not stats_path.exists():
        return
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    coverage = _coverage(stats, results / STATS)
    # The tests the workspace's verdicts were judged by: its own record when an earlier run
    # left one (every verdict it kept is then as true of those tests), else the repository's.
    judged_by = mutants / TEST_HASHES
    if not judged_by.exists():
        judged_by = results / TEST_HASHES
    baseline = json.loads(judged_by.read_text(encoding="utf-8")) if judged_by.exists() else {}
    current = test_file_hashes(tests)
    changed = changed_test_files(baseline, current)
    functions = functions_to_recheck(coverage, changed)
    cleared = clear_verdicts(mutants, functions)
    (mutants / TEST_HASHES).write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    stats["tests_by_mangled_function_name"] = {}
    stats["duration_by_test"] = {}  # every test is new to mutmut: it maps them all
    stats_path.write_text(json.dumps(stats, indent=4), encoding="utf-8")
    print(
        f"mutation results: {len(changed)} test file(s) changed since the recorded run; "
        f"{cleared} verdict(s) to check again ({len(functions)} function(s) their tests "
        "cover, and those no test covered)"
    )


def _coverage(workspace_stats: dict[str, Any], recorded_stats: Path) -> dict[str, set[str]]:
    """Which tests cover which function, by the workspace's map and the recorded one (the
    workspace's is empty after a run stopped before mutmut mapped it again)."""
    coverage: dict[str, set[str]] = {}
    maps = [workspace_stats["tests_by_mangled_function_name"]]
    if recorded_stats.exists():
        maps.append(
            json.loads(recorded_stats.read_text(encoding="utf-8"))["tests_by_mangled_function_name"]
        )
    for mapping in maps:
        for function, tests in mapping.items():
            coverage.setdefault(function, set()).update(tests)
    return coverage


def record(results: Path, mutants: Path, tests: Path) -> None:
    """Keep this run's verdicts, the tests' coverage of each function, and the tests' hashes."""
    if results.exists():
        shutil.rmtree(results)
    for meta_path in sorted(mutants.rglob("*.meta")):
        target = results / meta_path.relative_to(mutants)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(meta_path, target)
    shutil.copy2(mutants / STATS, results / STATS)
    (results / TEST_HASHES).write_text(
        json.dumps(test_file_hashes(tests), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["restore", "record"])
    parser.add_argument("results", type=Path, help="the verdicts kept in the repository")
    parser.add_argument("mutants", type=Path, help="mutmut's mutants/ folder")
    parser.add_argument("tests", type=Path, help="the tests folder")
    options = parser.parse_args()
    action = restore if options.action == "restore" else record
    action(options.results, options.mutants, options.tests)


if __name__ == "__main__":
    main()
