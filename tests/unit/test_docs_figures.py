"""The snippets a run writes into docs/figures/ (``playment_bench.doc_figures``): on given
figures, each writes what the pages show, in the sections the pages include."""

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from playment_bench.doc_figures.bench import bench_markdown
from playment_bench.doc_figures.markdown import written_by
from playment_bench.doc_figures.mutation import main as write_mutation
from playment_bench.doc_figures.scale import scale_markdown

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.date(2026, 12, 7)
INCLUDE = re.compile(r'^--8<-- "docs/figures/(\w+)\.md:([\w-]+)"$', re.M)


def sections(markdown: str) -> dict[str, str]:
    """Each section of a snippet, as ``--8<-- "file:section"`` includes it."""
    found = re.findall(r"\[start:([\w-]+)\] -->\n(.*?)\n<!-- --8<-- \[end:\1\]", markdown, re.S)
    return dict(found)


def included(snippet: str) -> set[str]:
    """The sections of ``docs/figures/<snippet>.md`` the pages include."""
    pages = [path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md")]
    return {part for text in pages for name, part in INCLUDE.findall(text) if name == snippet}


def test_the_bench_snippet_shows_each_figure_of_the_run(bench_figures: dict[str, Any]) -> None:
    # Given the figures of a full `make bench`
    # When the snippet is written from them
    parts = sections(bench_markdown(bench_figures, DAY, written_by("make bench")))
    # Then it says when and by what, and every section the performance page includes is there
    assert parts["source"] == "*Figures of `make bench`, 2026-12-07: written by `make bench`.*"
    assert included("bench") <= set(parts)
    # And each shows the run's figures, derived as the tables' headers say
    assert (
        "| Playment requests per exported job | 3.00 (job, attachment, download) + 10"
        in (parts["requests"])
    )
    assert "| `s3:PutObject` per job | 1.044 (1,044) |" in parts["requests"]
    assert "| 2,000 x 256 KB | 100 MB | 35.1 s | 27.2 s |" in parts["local-command"]
    assert "| 61 MB | 1.5 s (4% of the first run) | 0.9 s |" in parts["local-command"]
    assert "| 400 | 2.36 s | 0.40 s | 51.0 s (measured) | **21.6x** |" in parts["local-command"]
    assert "| flat memory | **missed** |" in parts["local-command"]
    assert "| 8 | 46.4 | 66.7 | 70% |" in parts["container"]
    assert "| 300 MiB | 108.4 MiB | +23.3 MiB | 24.0 MiB |" in parts["container"]
    assert "| 40 | 8 | 40 x 50 | 320 | 107.9 | 2,666.7 | 4% | 15.2x |" in parts["throughput"]
    assert "| S3 PUT | PutObject | 1,008,122 PUT | $5.041 |" in parts["cost"]
    assert "| **total** |  |  | **$5.39** |" in parts["cost"]
    assert "| `fetch_result` | 563 ms |" in parts["imports"]


def test_the_bench_snippet_leaves_out_what_the_run_did_not_measure(
    bench_figures: dict[str, Any],
) -> None:
    # Given a run of the cost section alone
    # When the snippet is written from it
    parts = sections(bench_markdown({"cost": bench_figures["cost"]}, DAY, "by hand"))
    # Then it holds that section only
    assert set(parts) == {"source", "cost"}


def test_the_scale_snippet_shows_each_export_and_command_run(
    scale_figures: dict[str, Any],
) -> None:
    # Given the figures of a full `make scale`
    # When the snippet is written from them
    parts = sections(scale_markdown(scale_figures, DAY, written_by("make scale")))
    # Then every section the performance page includes is there
    assert included("scale") <= set(parts)
    # And each export's steps, the command's runs and what passed a bound are shown
    assert (
        "| 1,000,000 jobs in 1 batch | 323 | 20, 92.1, 9.3 | 1, 89.5, 91.0 "
        "| n/a (10,000 pages, 0.3 s max) | 1.2 KiB |"
    ) in parts["engine"]
    assert (
        "| 600,000 | 1,200 | 0 | 65 s | 173 MB | 1,200 | 598,800 of 598,800 |" in (parts["command"])
    )
    assert parts["verdict"] == "Over a bound:\n\n- 1M jobs: WriteReport peak 151.0 MiB over 150 MiB"


def test_a_scale_run_within_its_bounds_says_so(scale_figures: dict[str, Any]) -> None:
    # Given a run with nothing over a bound
    # When the snippet is written
    parts = sections(scale_markdown(scale_figures | {"violations": []}, DAY, "by hand"))
    # Then its verdict says so
    assert parts["verdict"] == "Every figure within its bound."


def test_make_mutation_prints_the_score_and_writes_the_snippet(
    mutmut_stats: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given mutmut's stats
    stats = tmp_path / "mutmut-cicd-stats.json"
    stats.write_text(json.dumps(mutmut_stats))
    out = tmp_path / "figures" / "mutation.md"
    # When make mutation's last step runs on them
    assert write_mutation([str(stats), "--out", str(out)]) == 0
    # Then it prints the score (a timeout counts as caught; skipped mutants are not counted)
    printed = capsys.readouterr().out
    assert printed == (
        "mutation score: 1445 of 1490 mutants caught (97.0%); 43 survived, 2 not covered by "
        "any test, 543 not checked yet\n"
    )
    # And writes the same into the sections the development page includes
    parts = sections(out.read_text(encoding="utf-8"))
    assert included("mutation") <= set(parts)
    assert f"{datetime.date.today().isoformat()}: written by `make mutation`" in parts["source"]
    assert "| caught | **1,445 of 1,490 checked (97.0%)** |" in parts["score"]
    assert "| not checked yet | 543 |" in parts["score"]
