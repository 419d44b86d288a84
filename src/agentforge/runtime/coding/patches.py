"""Patches as answers: a canonical form under which equivalent diffs compare
equal (a workspace's diff itself is `Sandbox.diff`).

Two candidates that make the same change can still print different diffs:
other blob hashes on the `index` lines, hunks at shifted line numbers
(the `@@ -12,7 +12,8 @@` header), trailing whitespace, files in another
order, timestamps on plain `diff -u` headers. `normalize_patch` removes
exactly those differences, so majority vote pools such candidates.
"""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*$")
_DROPPED = ("index ", "similarity index ", "dissimilarity index ")


def normalize_patch(patch: str) -> str:
    """The canonical form of a unified diff ("" for an empty one)."""
    sections: list[list[str]] = []
    lines = (patch or "").replace("\r\n", "\n").split("\n")
    for i, raw in enumerate(lines):
        line = raw.rstrip()
        if line.startswith(_DROPPED):
            continue
        if _HUNK.match(line):
            line = "@@"
        elif line.startswith(("--- ", "+++ ")) and _is_file_header(lines, i):
            line = line.split("\t", 1)[0]  # `diff -u` adds a timestamp after a tab
        starts_file = line.startswith("diff --git ") or (
            line.startswith("--- ") and _is_file_header(lines, i)
            and not (sections and sections[-1][0].startswith("diff --git ") and "@@" not in sections[-1]))
        if starts_file or not sections:
            if not line:
                continue
            sections.append([])
        sections[-1].append(line)
    for section in sections:
        while section and not section[-1]:
            section.pop()
    blocks = sorted("\n".join(s) for s in sections if s)
    return "\n".join(blocks) + "\n" if blocks else ""


def _is_file_header(lines: list[str], i: int) -> bool:
    """A `--- a` line directly followed by `+++ b` (or that `+++` line itself)."""
    if lines[i].startswith("--- "):
        return i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
    return i > 0 and lines[i - 1].startswith("--- ")
