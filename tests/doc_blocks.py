"""The code blocks of the README and the documentation pages, for the tests that run or parse
them: no example can fall behind the code it shows."""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def code_blocks(language: str) -> list[tuple[str, str]]:
    """(`page#n`, code) for every fenced block in `language`, n counting per page."""
    return [
        (f"{page.relative_to(ROOT)}#{number}", code)
        for page in PAGES
        for number, code in enumerate(
            re.findall(rf"^ *```{language}\n(.*?)^ *```", page.read_text(), re.S | re.M)
        )
    ]


def shell_commands(code: str) -> list[list[str]]:
    """Each command of a shell block as its words: continuation lines joined, comments and a
    trailing `&` dropped, pipelines and `$(...)` left to the shell's own tests."""
    commands, pending = [], ""
    for line in code.replace("\\\n", " ").splitlines():
        pending += line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted argument goes on over the next line
            pending += "\n"
            continue
        pending = ""
        if words and words[-1] == "&":
            words.pop()
        if words:
            commands.append(words)
    assert not pending, f"unclosed quote in {pending!r}"
    return commands
