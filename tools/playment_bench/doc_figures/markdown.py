"""Markdown pieces the snippet writers share: tables, named sections, the header, the file,
and the README's blocks (GitHub renders the README without snippet includes, so the runs
rewrite its figures in place)."""

import datetime
from collections.abc import Iterable, Sequence
from pathlib import Path

# tools/playment_bench/doc_figures/markdown.py -> the repository's root (an editable install).
REPOSITORY = Path(__file__).resolve().parents[3]
FIGURES = REPOSITORY / "docs" / "figures"
README = REPOSITORY / "README.md"


class FiguresBlockError(ValueError):
    """A file lacks a block's markers, or has them more than once: the run must not go on as if
    it had written the figures there."""


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; every cell already formatted."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def section(name: str, body: str) -> str:
    """A part of a snippet a page includes on its own: ``--8<-- "docs/figures/F.md:name"``."""
    return f"<!-- --8<-- [start:{name}] -->\n{body}\n<!-- --8<-- [end:{name}] -->"


def snippet(
    title: str, date: datetime.date, origin: str, sections: Iterable[tuple[str, str]]
) -> str:
    """The whole snippet: a ``source`` section (when, and what wrote it), then each section."""
    source = f"*{title}, {date.isoformat()}: {origin}.*"
    parts = [section("source", source)] + [section(name, body) for name, body in sections]
    return "\n\n".join(parts) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def block_markers(name: str) -> tuple[str, str]:
    """The HTML comments around a block a run rewrites: invisible where the file is rendered."""
    return f"<!-- figures:{name}:start -->", f"<!-- figures:{name}:end -->"


def replace_block(path: Path, name: str, body: str) -> Path:
    """Put ``body`` between block ``name``'s markers in ``path``, every other byte unchanged.

    Raises ``FiguresBlockError`` unless each marker is there exactly once, start before end.
    """
    start, end = block_markers(name)
    text = path.read_bytes().decode("utf-8")  # bytes: line endings stay as they are
    found = (text.count(start), text.count(end))
    if found != (1, 1) or text.index(start) > text.index(end):
        raise FiguresBlockError(
            f"{path}: block {name!r} needs {start} then {end}, once each; found them "
            f"{found[0]} and {found[1]} times"
        )
    before, rest = text.split(start)
    _, after = rest.split(end)
    path.write_bytes(f"{before}{start}\n{body}\n{end}{after}".encode())
    return path


def number(value: float, digits: int = 1) -> str:
    """Thousands separated, ``digits`` after the point."""
    return f"{value:,.{digits}f}"


def written_by(command: str) -> str:
    """The ``origin`` of a snippet a run wrote."""
    return f"written by `{command}`"
