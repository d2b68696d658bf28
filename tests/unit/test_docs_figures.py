"""The snippets a run writes into docs/figures/ (``playment_bench.doc_figures``): on given
figures, each writes what the pages show, in the sections the pages include; and the README's
blocks the same runs rewrite in place."""

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from playment_bench import local_command
from playment_bench.doc_figures.bench import bench_markdown, bench_readme_block, write_bench
from playment_bench.doc_figures.markdown import (
    FiguresBlockError,
    block_markers,
    replace_block,
    written_by,
)
from playment_bench.doc_figures.mutation import main as write_mutation
from playment_bench.doc_figures.scale import scale_markdown

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.date(2026, 12, 7)
INCLUDE = re.compile(r'^--8<-- "docs/figures/(\w+)\.md:([\w-]+)"$', re.M)
README_BLOCKS = ("bench", "mutation")


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


def block(text: str, name: str) -> str:
    """What stands between a README block's markers."""
    start, end = block_markers(name)
    return text.split(start)[1].split(end, maxsplit=1)[0]


def test_make_mutation_prints_the_score_and_writes_the_snippet(
    mutmut_stats: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given mutmut's stats, and a copy of the README
    stats = tmp_path / "mutmut-cicd-stats.json"
    stats.write_text(json.dumps(mutmut_stats))
    out = tmp_path / "figures" / "mutation.md"
    readme = tmp_path / "README.md"
    readme.write_bytes((ROOT / "README.md").read_bytes())
    # When make mutation's last step runs on them
    assert write_mutation([str(stats), "--out", str(out), "--readme", str(readme)]) == 0
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
    # And the README's block shows the same line, with when and what wrote it
    assert block(readme.read_text(encoding="utf-8"), "mutation") == (
        "\nmutation score: 1445 of 1490 mutants caught (97.0%); 43 survived, 2 not covered by "
        f"any test, 543 not checked yet. *{datetime.date.today().isoformat()}: written by "
        "`make mutation`.*\n"
    )


def test_a_block_is_replaced_and_every_other_byte_kept(tmp_path: Path) -> None:
    # Given a file with a block between other text, CRLF line endings and non-ASCII included
    before = "# Title\r\n\nfigures — below:\n<!-- figures:bench:start -->\n"
    after = "<!-- figures:bench:end -->\n<!-- figures:mutation:start -->x\n" + (
        "<!-- figures:mutation:end -->"
    )
    path = tmp_path / "README.md"
    path.write_bytes(f"{before}old figures\nover two lines\n{after}".encode())
    # When the block is replaced
    replace_block(path, "bench", "| new | figures |")
    # Then the text between its markers is the new one, and the rest is byte for byte as it was
    assert path.read_bytes() == f"{before}| new | figures |\n{after}".encode()


@pytest.mark.parametrize(
    "text",
    [
        "no block at all\n",
        "<!-- figures:bench:start -->\nno end\n",
        "no start\n<!-- figures:bench:end -->\n",
        "<!-- figures:bench:end -->\nin reverse\n<!-- figures:bench:start -->\n",
        "<!-- figures:mutation:start -->\nanother block\n<!-- figures:mutation:end -->\n",
    ],
)
def test_a_block_without_its_markers_fails_naming_the_file_and_block(
    text: str, tmp_path: Path
) -> None:
    # Given a file that lacks the block's markers, or has them out of order
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    # When the block is replaced
    with pytest.raises(FiguresBlockError) as raised:
        replace_block(path, "bench", "figures")
    # Then it fails naming the file and the block, and the file is left as it was
    assert str(path) in str(raised.value)
    assert "'bench'" in str(raised.value)
    assert path.read_text(encoding="utf-8") == text


def test_a_repeated_block_fails(tmp_path: Path) -> None:
    # Given a file with the block twice
    once = "<!-- figures:bench:start -->\nold\n<!-- figures:bench:end -->\n"
    path = tmp_path / "README.md"
    path.write_text(once + "between\n" + once, encoding="utf-8")
    # When the block is replaced
    # Then it fails rather than write one copy and leave the other stale
    with pytest.raises(FiguresBlockError, match="found them 2 and 2 times"):
        replace_block(path, "bench", "figures")
    assert path.read_text(encoding="utf-8") == once + "between\n" + once


@pytest.mark.parametrize("name", README_BLOCKS)
def test_the_readme_has_each_block_the_runs_rewrite_once(name: str) -> None:
    # Given the repository's README
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # When its markers of a block the runs rewrite are counted
    start, end = block_markers(name)
    # Then each is there once, start before end, with figures between them
    assert (text.count(start), text.count(end)) == (1, 1)
    assert text.index(start) < text.index(end)
    assert block(text, name).strip()


def test_the_bench_block_lists_every_verdict_with_its_measure_and_target(
    bench_figures: dict[str, Any],
) -> None:
    # Given a full run's figures, with the local command's verdicts and what each compared
    texts = {
        "start-up": "first request after 0.40 s, target under 0.5 s",
        "flat memory": "peak +80 MB over 2,000 x 256 KB, target within 50 MB",
    }
    bench_figures["local_command"]["verdict_texts"] = texts
    # When the README's block is written from them
    text = bench_readme_block(bench_figures, DAY, "make bench")
    # Then it says when and by what, and has a row per verdict: measured, target, verdict
    assert text.splitlines() == [
        "*`playment-export run`, 2026-12-07: written by `make bench`.*",
        "",
        "| figure | measured | target | verdict |",
        "|---|---|---|---|",
        "| start-up | first request after 0.40 s | under 0.5 s | met |",
        "| flat memory | peak +80 MB over 2,000 x 256 KB | within 50 MB | **missed** |",
    ]


def test_a_full_bench_run_writes_the_snippet_and_the_readme_block(
    bench_figures: dict[str, Any], tmp_path: Path
) -> None:
    # Given a full run's figures and a copy of the README
    bench_figures["local_command"]["verdict_texts"] = {
        "start-up": "first request after 0.40 s, target under 0.5 s",
        "flat memory": "+80 MB, target within 50 MB",
    }
    readme = tmp_path / "README.md"
    readme.write_bytes((ROOT / "README.md").read_bytes())
    snippet = tmp_path / "bench.md"
    # When the run writes its figures
    write_bench(bench_figures, "make bench", snippet, readme)
    # Then the snippet is written, and the README's block is the run's, the rest unchanged
    assert "[start:local-command]" in snippet.read_text(encoding="utf-8")
    written = readme.read_text(encoding="utf-8")
    expected = bench_readme_block(bench_figures, datetime.date.today(), "make bench")
    assert block(written, "bench") == f"\n{expected}\n"
    original = (ROOT / "README.md").read_text(encoding="utf-8")
    assert written.replace(block(written, "bench"), "") == original.replace(
        block(original, "bench"), ""
    )


def test_the_bench_run_records_what_each_verdict_compared() -> None:
    # Given the local command's figures as a run measures them
    def run(seconds: float, peak_mb: int) -> local_command.RunFigure:
        return local_command.RunFigure(seconds, 0.3, peak_mb * 1_000_000, 1.0, 2000)

    figures = local_command.LocalCommandFigures(
        memory=[
            local_command.MemoryFigure(
                "2,000 x 256 KB", 2000, 262_144, run(25.6, 92), run(1.3, 45)
            ),
            local_command.MemoryFigure("2,000 x 1 MB", 2000, 1_048_576, run(79.0, 166), None),
        ],
        speed=[local_command.SpeedFigure(400, 3, 1.47, 0.29, 50.8, False)],
        reference=local_command.ReferenceFigure(400, 0.2, 50.6, {}),
        startup_samples_s=[0.29],
    )
    # When they are recorded as --json writes them
    recorded = json.loads(json.dumps(figures.as_json()))
    # Then beside each verdict is what it compared, as the run printed it
    printed = {name: text for name, text, _ in local_command.verdicts(figures)}
    assert recorded["verdict_texts"] == printed
    assert recorded["verdict_texts"].keys() == recorded["verdicts"].keys()
    assert recorded["verdict_texts"]["flat memory"] == (
        "2,000 x 1 MB peak +74 MB over 2,000 x 256 KB, target within 50 MB"
    )
