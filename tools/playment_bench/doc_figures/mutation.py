"""``make mutation``'s score: printed, and written as ``docs/figures/mutation.md``.

python -m playment_bench.doc_figures.mutation STATS [--out FILE] [--readme FILE]

STATS is mutmut's ``mutmut export-cicd-stats`` file (``mutants/mutmut-cicd-stats.json``). The
score line also goes into the README's ``mutation`` block.
"""

import argparse
import datetime
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from playment_bench.doc_figures.markdown import (
    FIGURES,
    README,
    replace_block,
    snippet,
    table,
    write,
    written_by,
)

MUTATION_SNIPPET = FIGURES / "mutation.md"
COMMAND = "make mutation"


@dataclass(frozen=True)
class MutationScore:
    """mutmut's counts: a timeout counts as caught; skipped mutants are not counted."""

    caught: int
    survived: int
    no_tests: int
    checked: int
    not_checked: int

    @classmethod
    def of(cls, stats: Mapping[str, int]) -> Self:
        caught = stats["killed"] + stats["timeout"]
        checked = (
            caught + stats["survived"] + stats["no_tests"] + stats["suspicious"] + stats["segfault"]
        )
        return cls(
            caught=caught,
            survived=stats["survived"],
            no_tests=stats["no_tests"],
            checked=checked,
            not_checked=stats["total"] - stats["skipped"] - checked,
        )

    @property
    def share(self) -> float:
        return self.caught / max(self.checked, 1)

    def line(self) -> str:
        return (
            f"mutation score: {self.caught} of {self.checked} mutants caught "
            f"({100 * self.share:.1f}%); {self.survived} survived, {self.no_tests} not covered "
            f"by any test, {self.not_checked} not checked yet"
        )


def mutation_markdown(stats: Mapping[str, int], date: datetime.date, origin: str) -> str:
    score = MutationScore.of(stats)
    rows = [
        ("caught", f"**{score.caught:,} of {score.checked:,} checked ({100 * score.share:.1f}%)**"),
        ("survived", f"{score.survived:,}"),
        ("not covered by any test", f"{score.no_tests:,}"),
        ("not checked yet", f"{score.not_checked:,}"),
    ]
    return snippet(
        "Score of `make mutation`", date, origin, [("score", table(("mutants", ""), rows))]
    )


def mutation_readme_block(stats: Mapping[str, int], date: datetime.date, origin: str) -> str:
    """The score line, and when and what wrote it."""
    return f"{MutationScore.of(stats).line()}. *{date.isoformat()}: {origin}.*"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playment_bench.doc_figures.mutation")
    parser.add_argument("stats", type=Path, help="mutmut's export-cicd-stats JSON")
    parser.add_argument("--out", type=Path, default=MUTATION_SNIPPET, help="the snippet")
    parser.add_argument("--readme", type=Path, default=README, help="the file with the block")
    args = parser.parse_args(argv)
    stats = json.loads(args.stats.read_text())
    print(MutationScore.of(stats).line())
    today, origin = datetime.date.today(), written_by(COMMAND)
    write(args.out, mutation_markdown(stats, today, origin))
    replace_block(args.readme, "mutation", mutation_readme_block(stats, today, origin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
