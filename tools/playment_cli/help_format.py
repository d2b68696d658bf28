"""How every help page is laid out: prose filled to the terminal, examples kept as written."""

import argparse
import textwrap
from typing import NoReturn


class HelpFormatter(argparse.HelpFormatter):
    """Paragraphs (separated by a blank line) are filled to the width; a paragraph with an
    indented line (a list of commands, an example) is printed line for line, as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                        break_long_words=False,
                    )
                )
        return "\n\n".join(paragraphs)


class CommandParser(argparse.ArgumentParser):
    """argparse's parser, with its errors in the command's one style:
    ``playment-export: error: ...`` after the usage, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage()
        self.exit(2, f"playment-export: error: {message}\n")
