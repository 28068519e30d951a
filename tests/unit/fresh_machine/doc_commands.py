"""The shell commands the docs tell a reader to type, taken apart so a test can check each.

Sources: every ```bash block of README.md and docs/ (backslash continuations joined, comments
dropped) and every inline `code` span of those files that starts like an instruction (`make ...`,
`.venv/bin/...`, `docker compose ...`, `python ...`). Command substitutions (`$(...)`) are checked as
commands of their own and stand for one word in the outer command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```(bash|sh|shell)\s*$")
_INLINE = re.compile(r"`([^`\n]+)`")
# Inline spans that are instructions; a bare `feast apply` in a sentence names a step instead.
_INLINE_COMMAND = re.compile(r"^([A-Z_][A-Z0-9_]*=\S+ )*(make [a-z]|\.venv/bin/|docker compose |python )")
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
_OPERATORS = {"&&", "||", ";", "|", "(", ")", "&"}
_REDIRECTS = {">", ">>", "<", "2>", "2>&1"}
SUBSTITUTED = "SUBSTITUTED"


@dataclass(frozen=True)
class Command:
    """One simple command (`argv`) as written in `source`, run from `cwd` (repo-relative)."""

    source: str
    argv: tuple[str, ...]
    cwd: Path

    def __str__(self) -> str:
        return f"{self.source}: {shlex.join(self.argv)} (in {self.cwd.relative_to(REPO) or '.'})"


def _block_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(block number, line number, logical line) of each ```bash block; one shell per block."""
    inside, pending, first, block = False, "", 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not inside:
            inside = bool(_FENCE.match(line.strip()))
            block += inside
            continue
        if line.strip().startswith("```"):
            inside = False
            continue
        if not pending:
            first = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield block, first, pending + line
        pending = ""


def _inline_commands(text: str) -> Iterator[tuple[int, str]]:
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            inside = not inside
            continue
        if inside:
            continue
        for span in _INLINE.findall(line):
            if _INLINE_COMMAND.match(span) and "..." not in span and "<" not in span:
                yield number, span


def _simple_commands(line: str) -> Iterator[list[str]]:
    for inner in _SUBSTITUTION.findall(line):
        yield from _simple_commands(inner)
    lexer = shlex.shlex(_SUBSTITUTION.sub(SUBSTITUTED, line), posix=True,
                        punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
        elif token in _OPERATORS:
            if words:
                yield words
            words = []
        elif token in _REDIRECTS:
            skip_next = True
        else:
            words.append(token)
    if words:
        yield words


def _without_assignments(argv: list[str]) -> list[str]:
    """`PREFECT_API_URL=... python -m ...` runs python: drop the VAR=value prefixes."""
    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
        argv = argv[1:]
    return argv


def doc_commands() -> list[Command]:
    """Every command of the docs, with the directory it runs in (a block's `cd` carries on)."""
    found: list[Command] = []
    for path in DOC_FILES:
        text = path.read_text()
        name = str(path.relative_to(REPO))
        cwd, current_block = REPO, 0
        for block, number, line in _block_lines(text):
            if block != current_block:
                cwd, current_block = REPO, block
            if not cwd.is_relative_to(REPO):
                # The block went on in another checkout (docs/pit-retrieval.md runs Feast's
                # own suite from a Feast clone): its files are not this repo's to check.
                continue
            for argv in map(_without_assignments, _simple_commands(line)):
                if not argv:
                    continue
                if argv[0] == "cd" and len(argv) == 2 and Path(argv[1]).is_absolute() \
                        and not Path(argv[1]).is_relative_to(REPO):
                    cwd = Path(argv[1])
                    break
                found.append(Command(f"{name}:{number}", tuple(argv), cwd))
                if argv[0] == "cd" and len(argv) == 2:
                    cwd = (cwd / argv[1]).resolve()
        for number, span in _inline_commands(text):
            for argv in map(_without_assignments, _simple_commands(span)):
                found.append(Command(f"{name}:{number}", tuple(argv), REPO))
    return found
