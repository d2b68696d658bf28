"""Markdown pieces the snippet writers share: tables, named sections, the header, the file."""

import datetime
from collections.abc import Iterable, Sequence
from pathlib import Path

# tools/playment_bench/doc_figures/markdown.py -> the repository's root (an editable install).
REPOSITORY = Path(__file__).resolve().parents[3]
FIGURES = REPOSITORY / "docs" / "figures"


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


def number(value: float, digits: int = 1) -> str:
    """Thousands separated, ``digits`` after the point."""
    return f"{value:,.{digits}f}"


def written_by(command: str) -> str:
    """The ``origin`` of a snippet a run wrote."""
    return f"written by `{command}`"
