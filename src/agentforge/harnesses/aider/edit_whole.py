"""Aider's `whole` edit format: the reply lists each changed file whole, under its path.

    path/to/file.py
    ```
    entire new content
    ```

The filename is the line before the opening fence, with `*`, backticks, a trailing
`:` and a leading `#` stripped; a wrong folder is dropped when the base name
matches a chat file; with no filename and exactly one chat file, that file is
meant. Each listed file is overwritten (an unknown name becomes a new file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


class EditFormatError(ValueError):
    """The reply's edits could not be read or applied; the text goes back to the model."""


@dataclass
class EditResult:
    files: dict[str, str]  # relative path -> new content, for every file written
    errors: list[str] = field(default_factory=list)  # per failed edit (diff: the blocks that did not match)


def strip_filename(line: str) -> str:
    name = line.strip().strip("*").strip().strip("`").strip()
    name = name.rstrip(":").strip()
    if name.startswith("#"):
        name = name.lstrip("#").strip()
    return name.strip("`*").strip()


def resolve_name(name: str, chat_files: list[str]) -> str:
    """The chat file `name` means: itself, or the chat file with its base name (a wrong folder)."""
    if name in chat_files:
        return name
    matches = [f for f in chat_files if os.path.basename(f) == os.path.basename(name)]
    return matches[0] if len(matches) == 1 else name


def parse_whole(reply: str, chat_files: list[str], fence: tuple[str, str]) -> list[tuple[str, str]]:
    """(filename, new content) per file listing, in order; EditFormatError if a listing has no name."""
    lines = reply.splitlines(keepends=True)
    listings: list[tuple[str, str]] = []
    name: str | None = None
    body: list[str] = []
    for i, line in enumerate(lines):
        if not line.startswith(fence[0]) and not (name is not None and line.startswith(fence[1])):
            if name is not None:
                body.append(line)
            continue
        if name is not None:  # a closing fence
            listings.append((name, "".join(body)))
            name, body = None, []
            continue
        before = strip_filename(lines[i - 1]) if i > 0 else ""
        if before:
            name = resolve_name(before, chat_files)
        elif len(chat_files) == 1:
            name = chat_files[0]
        else:
            raise EditFormatError(f"No filename provided before {fence[0]} in file listing")
    if name is not None:  # an unclosed listing still counts, as in Aider
        listings.append((name, "".join(body)))
    return listings


def apply_whole(reply: str, files: dict[str, str], fence: tuple[str, str]) -> EditResult:
    """The files after the reply's listings (`files`: path -> current content)."""
    listings = parse_whole(reply, list(files), fence)
    return EditResult(files={name: content for name, content in listings})
