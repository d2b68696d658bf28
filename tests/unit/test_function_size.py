"""No production function grows past 60 lines or 6 parameters unless pyproject.toml names it
with a reason: a long function is where a change is hardest to make safely."""

import ast
import fnmatch
import importlib.util
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LONG_FUNCTIONS: dict[str, str] = PYPROJECT["tool"]["playment-exporter"]["long-functions"]
PER_FILE_IGNORES: dict[str, list[str]] = PYPROJECT["tool"]["ruff"]["lint"]["per-file-ignores"]
MAX_LINES = 60
MAX_PARAMETERS = PYPROJECT["tool"]["ruff"]["lint"]["pylint"]["max-args"]
# The production packages, found wherever they live (the tooling may move under one folder).
PACKAGES = (
    "playment_exporter",
    "exporter_runtime",
    "playment_cli",
    "playment_local",
    "playment_simulator",
    "playment_operator",
    "playment_execution",
    "playment_bench",
)


@dataclass(frozen=True)
class Function:
    name: str  # module.qualname
    path: Path
    lines: int
    parameters: int
    def_line: str


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None, package
    assert spec.submodule_search_locations is not None, package
    return Path(next(iter(spec.submodule_search_locations)))


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        directory = _package_dir(package)
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory.parent).with_suffix("").parts
            yield ".".join(part for part in parts if part != "__init__"), path
    for path in sorted((ROOT / "functions").rglob("*.py")):
        yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = node.args
    names = [*arguments.posonlyargs, *arguments.args]
    bound = 1 if names and names[0].arg in ("self", "cls") else 0
    star = (arguments.vararg is not None) + (arguments.kwarg is not None)
    return len(names) - bound + len(arguments.kwonlyargs) + star


def _functions(module: str, path: Path) -> Iterator[Function]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()

    def walk(node: ast.AST, prefix: str) -> Iterator[Function]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}.{child.name}"
                assert child.end_lineno is not None
                yield Function(
                    name=name,
                    path=path,
                    lines=child.end_lineno - child.lineno + 1,
                    parameters=_parameters(child),
                    def_line=lines[child.lineno - 1],
                )
                yield from walk(child, name)
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}.{child.name}")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(text, filename=str(path)), module)


def _all_functions() -> list[Function]:
    return [function for module, path in _modules() for function in _functions(module, path)]


def _ruff_ignores(path: Path, code: str) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(
        code in codes and fnmatch.fnmatch(relative, pattern)
        for pattern, codes in PER_FILE_IGNORES.items()
    )


FUNCTIONS = _all_functions()


def test_every_production_package_is_read() -> None:
    # Given the functions found / Then every package and the handlers are among them
    modules = {function.name.split(".")[0] for function in FUNCTIONS}
    assert modules >= {*PACKAGES, "functions"}
    assert len(FUNCTIONS) > 500


def test_no_production_function_is_over_60_lines_unless_named() -> None:
    # Given every production function / When its lines are counted (def to last line)
    long = {function.name: function.lines for function in FUNCTIONS if function.lines > MAX_LINES}
    # Then each one over 60 is named, with its reason, in pyproject.toml
    assert set(long) <= set(LONG_FUNCTIONS), sorted(set(long) - set(LONG_FUNCTIONS))
    # And the list names no function that is gone or short again: it only shrinks
    assert set(LONG_FUNCTIONS) <= set(long), sorted(set(LONG_FUNCTIONS) - set(long))
    assert all(reason.strip() for reason in LONG_FUNCTIONS.values())


def test_no_production_function_takes_over_6_parameters_unless_named() -> None:
    # Given every production function with more parameters than ruff's max-args
    many = [function for function in FUNCTIONS if function.parameters > MAX_PARAMETERS]
    # Then each one says why on its def line, or its file is excepted in pyproject.toml
    unnamed = [
        f"{function.name} ({function.parameters})"
        for function in many
        if not _ruff_ignores(function.path, "PLR0913")
        and not _has_reason(function.def_line, "PLR0913")
    ]
    assert MAX_PARAMETERS == 6
    assert unnamed == []


def _has_reason(line: str, code: str) -> bool:
    """A ``# noqa: CODE - reason`` with a reason after the code."""
    _, marker, rest = line.partition(f"# noqa: {code}")
    return bool(marker) and rest.strip(" -") != ""


@pytest.mark.parametrize(
    ("source", "lines", "parameters"),
    [
        ("def f(a, b, c, d, e, f, g):\n    return 1\n", 2, 7),
        ("class C:\n    def m(self, *args, k, **kw):\n        pass\n", 2, 3),
        ("def f():\n" + "    x = 1\n" * 61, 62, 0),
    ],
)
def test_lines_and_parameters_are_counted_as_ruff_counts_arguments(
    tmp_path: Path, source: str, lines: int, parameters: int
) -> None:
    # Given a module / When its one function is measured
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    (function,) = _functions("m", path)
    # Then its lines run from def to its end, and self is not a parameter
    assert (function.lines, function.parameters) == (lines, parameters)
