"""The mutation run's verdicts, kept in the repository so that the next run starts from them.

mutmut keeps a verdict per mutant and a hash per mutated function (``mutants/**/*.meta``) and
which tests cover which function (``mutants/mutmut-stats.json``); it re-checks a function's
mutants when the function's source changes, but not when the tests that cover it do. This
store adds that: it records a hash per test file beside the verdicts, and on restore it clears
the verdicts of every function covered by a test file that changed since (a changed
``conftest.py`` counts for every test under its folder), so that mutmut checks them again.

    python -m playment_mutation.results_store restore RESULTS MUTANTS TESTS
    python -m playment_mutation.results_store record RESULTS MUTANTS TESTS
"""

import argparse
import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

STATS = "mutmut-stats.json"
TEST_HASHES = "test-hashes.json"
MUTANT_SEPARATOR = "__mutmut_"


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
    names = recorded.keys() | current.keys()
    return {name for name in names if recorded.get(name) != current.get(name)}


def _is_affected(test_name: str, changed: set[str]) -> bool:
    test_file = test_name.split("::", 1)[0]
    for name in changed:
        if name == test_file:
            return True
        if name.endswith("/conftest.py") and test_file.startswith(name[: -len("conftest.py")]):
            return True
    return False


def functions_to_recheck(
    tests_by_function: dict[str, Iterable[str]], changed: set[str]
) -> set[str]:
    """The mutated functions that a changed test file covers."""
    return {
        function
        for function, tests in tests_by_function.items()
        if any(_is_affected(test, changed) for test in tests)
    }


def clear_verdicts(mutants: Path, functions: set[str]) -> int:
    """Forget the verdicts of these functions' mutants; mutmut checks them again. Returns how
    many verdicts were cleared."""
    cleared = 0
    for meta_path in mutants.rglob("*.meta"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        verdicts: dict[str, int | None] = meta["exit_code_by_key"]
        for key, verdict in verdicts.items():
            if verdict is not None and key.rpartition(MUTANT_SEPARATOR)[0] in functions:
                verdicts[key] = None
                cleared += 1
        meta_path.write_text(json.dumps(meta, indent=4), encoding="utf-8")
    return cleared


def restore(results: Path, mutants: Path, tests: Path) -> None:
    """Put the recorded verdicts where mutmut reads them (a file mutmut already has is kept:
    it is newer), then clear those that a test change made stale."""
    for recorded in [*sorted(results.rglob("*.meta")), results / STATS]:
        target = mutants / recorded.relative_to(results)
        if recorded.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(recorded, target)
    hashes_path = results / TEST_HASHES
    stats_path = mutants / STATS
    if not hashes_path.exists() or not stats_path.exists():
        return
    changed = changed_test_files(
        json.loads(hashes_path.read_text(encoding="utf-8")), test_file_hashes(tests)
    )
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    functions = functions_to_recheck(stats["tests_by_mangled_function_name"], changed)
    cleared = clear_verdicts(mutants, functions)
    print(
        f"mutation results: {len(changed)} test file(s) changed since the recorded run; "
        f"{cleared} verdict(s) of {len(functions)} function(s) to check again"
    )


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
