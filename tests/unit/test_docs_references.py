"""What the README and the pages under docs/ point at exists: every relative link and anchor,
every snippet they include, every ``make`` target they name (the Makefile and what it includes
define it) and every ``playment-export`` command and flag they name (its argparse accepts it).

Each check is a function over the text, so the negative cases run it on a copy with a target,
a flag, a file or a heading taken out.
"""

import argparse
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from playment_cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "tools").rglob("*.mk"))]

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)
MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([a-z][\w.-]*[\w])")
TARGET = re.compile(r"^([a-z][\w.-]*(?:\s+[a-z][\w.-]*)*)\s*:(?!=)", re.M)
COMMAND = re.compile(r"playment-export\s+([a-z][\w-]*)([^\n]*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def prose(text: str) -> str:
    """The text outside fenced code blocks: where links are links."""
    return FENCE.sub("", text)


def code(text: str) -> Iterator[str]:
    """Each command line the text shows: fenced blocks' lines (continuations joined, shell
    comments left out) and inline code spans."""
    for block in FENCE.findall(text):
        joined = re.sub(r"\\\n\s*", " ", "\n".join(block.splitlines()[1:-1]))
        for line in joined.splitlines():
            yield re.sub(r"(^|\s)#.*$", "", line)
    yield from INLINE_CODE.findall(prose(text))


def slug(heading: str) -> str:
    """The anchor MkDocs' toc gives a heading (Python-Markdown's default slugify)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(text: str) -> set[str]:
    return {slug(heading) for heading in HEADING.findall(prose(text))}


def broken_links(page: Path, text: str, files: Mapping[Path, str]) -> list[str]:
    """Links of ``page`` to a file that is not in ``files`` or an anchor its headings lack."""
    broken = []
    for target in LINK.findall(prose(text)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: ...: not ours to check
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if path not in files and not path.is_dir():
            broken.append(f"{target}: no file {path}")
        elif anchor and path in files and anchor not in anchors(files[path]):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    return broken


def broken_snippets(text: str, root: Path) -> list[str]:
    """``--8<-- "file:section"`` includes whose file or section is missing."""
    broken = []
    for name, part in SNIPPET.findall(text):
        path = root / name
        if not path.is_file():
            broken.append(f"{name}: no file")
        elif part and f"[start:{part}]" not in path.read_text(encoding="utf-8"):
            broken.append(f"{name}:{part}: no section")
    return broken


def make_targets(makefiles: list[str]) -> set[str]:
    """Every target the Makefile texts define (rules, not variable assignments)."""
    targets: set[str] = set()
    for text in makefiles:
        for names in TARGET.findall(text):
            targets.update(names.split())
    return targets


def unknown_make_targets(text: str, targets: set[str]) -> list[str]:
    named = {match for line in code(text) for match in MAKE.findall(line)}
    return sorted(f"make {name}" for name in named - targets)


def command_flags(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Each ``playment-export`` command and the options its parser accepts."""
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: set(sub._option_string_actions) for name, sub in commands.choices.items()}


def unknown_commands_and_flags(text: str, accepted: Mapping[str, set[str]]) -> list[str]:
    unknown = []
    for line in code(text):
        for command, shown in COMMAND.findall(line):
            if command not in accepted:
                unknown.append(f"playment-export {command}")
                continue
            own = re.split(r"playment-export\s", shown)[0]  # a next command's flags are its own
            unknown += [
                f"playment-export {command} {flag}"
                for flag in FLAG.findall(own)
                if flag not in accepted[command]
            ]
    return unknown


def read(paths: list[Path]) -> dict[Path, str]:
    return {path.resolve(): path.read_text(encoding="utf-8") for path in paths}


FILES = read(PAGES)
MAKEFILE_TEXTS = [path.read_text(encoding="utf-8") for path in MAKEFILES]
ACCEPTED = command_flags(build_parser())
PAGE_IDS = [str(path.relative_to(ROOT)) for path in FILES]


@pytest.mark.parametrize("page", list(FILES), ids=PAGE_IDS)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    # Given a page, and every page it may link to
    # When its links are followed
    broken = broken_links(page, FILES[page], FILES)
    # Then each reaches a file, and a heading when it names an anchor
    assert broken == []


@pytest.mark.parametrize("page", list(FILES), ids=PAGE_IDS)
def test_every_code_block_is_closed(page: Path) -> None:
    # Given a page
    # When its fence lines are counted
    fences = re.findall(r"^```", FILES[page], re.M)
    # Then they pair up: no block swallows the prose (and the links and commands) after it
    assert len(fences) % 2 == 0


@pytest.mark.parametrize("page", list(FILES), ids=PAGE_IDS)
def test_every_included_snippet_exists(page: Path) -> None:
    # Given a page
    # When the snippets it includes are looked up
    broken = broken_snippets(FILES[page], ROOT)
    # Then each file and section is there
    assert broken == []


@pytest.mark.parametrize("page", list(FILES), ids=PAGE_IDS)
def test_every_make_target_named_is_defined(page: Path) -> None:
    # Given the targets the Makefile and what it includes define
    targets = make_targets(MAKEFILE_TEXTS)
    # When a page's `make ...` commands are read
    unknown = unknown_make_targets(FILES[page], targets)
    # Then every target they name is defined
    assert unknown == []


@pytest.mark.parametrize("page", list(FILES), ids=PAGE_IDS)
def test_every_command_and_flag_named_is_accepted(page: Path) -> None:
    # Given what playment-export's parser accepts, command by command
    # When a page's playment-export commands are read
    unknown = unknown_commands_and_flags(FILES[page], ACCEPTED)
    # Then every command exists and takes every flag it is shown with
    assert unknown == []


def test_the_pages_name_commands_targets_and_links_at_all() -> None:
    # Given every page's command lines and links, read as the checks read them
    lines = [line for text in FILES.values() for line in code(text)]
    named_targets = {name for line in lines for name in MAKE.findall(line)}
    named_commands = {command for line in lines for command, _ in COMMAND.findall(line)}
    links = [link for text in FILES.values() for link in LINK.findall(prose(text))]
    # Then the checks above have something to check: what the README shows first at least
    assert {"demo", "test", "docs", "bench", "scale", "mutation"} <= named_targets
    assert {"run", "simulator", "status", "start"} <= named_commands
    assert any("#" in link for link in links)


@pytest.mark.parametrize("removed", ["docs", "template-tools", "scale"])
def test_a_target_taken_out_of_the_makefile_is_found(removed: str) -> None:
    # Given a copy of the Makefiles without one target's rule
    rule = re.compile(rf"^{re.escape(removed)}\s*:(?!=).*$", re.M)
    copies = [rule.sub("", text) for text in MAKEFILE_TEXTS]
    # When the pages are checked against the copy
    unknown = {
        name for text in FILES.values() for name in unknown_make_targets(text, make_targets(copies))
    }
    # Then the pages naming that target fail the check
    assert unknown == {f"make {removed}"}


@pytest.mark.parametrize(
    ("command", "flag"),
    [("run", "--out"), ("run", "--batch-id"), ("start", "--all-batches"), ("status", "--limit")],
)
def test_a_flag_taken_out_of_a_command_is_found(command: str, flag: str) -> None:
    # Given what the parser accepts, without one flag of one command
    accepted = {name: set(flags) for name, flags in ACCEPTED.items()}
    accepted[command].discard(flag)
    # When the pages are checked against it
    unknown = {u for text in FILES.values() for u in unknown_commands_and_flags(text, accepted)}
    # Then the pages showing that flag with that command fail the check
    assert unknown == {f"playment-export {command} {flag}"}


def test_a_command_the_parser_lacks_is_found() -> None:
    # Given a page that shows a command playment-export does not have
    text = "```bash\nplayment-export resume --stack-name s\n```\n"
    # When it is checked
    unknown = unknown_commands_and_flags(text, ACCEPTED)
    # Then the command is named
    assert unknown == ["playment-export resume"]


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    # Given two pages: one links to the other's heading, to a heading it lacks, and to a file
    # that is not there (a link inside a code block is not a link)
    target = tmp_path / "target.md"
    page = tmp_path / "page.md"
    files = {
        target: "# Target\n\n## Scale: `make scale`\n",
        page: "[ok](target.md#scale-make-scale) [bad](target.md#scale) [gone](gone.md)\n"
        "```\n[code](nowhere.md)\n```\n",
    }
    # When the page's links are checked
    broken = broken_links(page, files[page], files)
    # Then the missing anchor and the missing file are named, and nothing else
    assert [entry.split(":")[0] for entry in broken] == ["target.md#scale", "gone.md"]


def test_a_missing_snippet_section_is_found(tmp_path: Path) -> None:
    # Given a snippet file with one section, and a page that includes it and another
    (tmp_path / "f.md").write_text("<!-- --8<-- [start:one] -->\nx\n<!-- --8<-- [end:one] -->\n")
    text = '--8<-- "f.md:one"\n--8<-- "f.md:two"\n--8<-- "g.md"\n'
    # When its includes are checked
    broken = broken_snippets(text, tmp_path)
    # Then the missing section and file are named
    assert broken == ["f.md:two: no section", "g.md: no file"]
