"""The string-replace file editor: view, create, str_replace, insert, undo_edit.

Files are read and written through the sandbox's file API, which refuses any
path outside the workspace; a directory listing runs `find` inside the
sandbox. Every method returns the text the agent sees and never raises:
mistakes come back as messages starting with "Error:" that say how to fix them.

Choices:
- `create` refuses to overwrite an existing file. Rewriting a whole file
  throws away code the model did not mean to touch; it must use str_replace
  (or undo_edit a file it created, then create it again).
- `str_replace` needs `old_str` to occur exactly once; when it occurs several
  times the error lists the line numbers so the model can add context.
- `undo_edit` restores the content before the editor's last edit of that file
  (a file the editor created is removed again). Changes made with bash are
  not tracked, and undoing goes back over them.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import Sequence

from agentforge.runtime.sandbox import OutputCap, Sandbox

COMMANDS = ("view", "create", "str_replace", "insert", "undo_edit")
SNIPPET_LINES = 4  # lines of context shown around an edit
HISTORY_DEPTH = 50  # undo steps kept per file


def numbered(lines: Sequence[str], first: int = 1) -> str:
    """Lines with `cat -n` style numbers (6 wide, then a tab)."""
    return "\n".join(f"{i:6}\t{line}" for i, line in enumerate(lines, first))


def split_lines(text: str) -> list[str]:
    """The file's lines without their newlines; a final newline adds no empty line."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def line_of(text: str, index: int) -> int:
    """1-based line number of character `index`."""
    return text.count("\n", 0, index) + 1


class Editor:
    """A str_replace editor over one sandbox's workspace, with per-file undo."""

    def __init__(self, box: Sandbox, output_chars: int | None = None):
        self.box = box
        self.output_chars = output_chars or box.limits.output_chars
        self.history: dict[str, list[str | None]] = {}  # host path -> earlier contents (None: did not exist)

    async def run(
        self,
        command: str,
        path: str,
        file_text: str | None = None,
        old_str: str | None = None,
        new_str: str | None = None,
        insert_line: int | None = None,
        view_range: Sequence[int] | None = None,
    ) -> str:
        """Dispatch one editor command; the answer is what the agent reads."""
        if command not in COMMANDS:
            return f"Error: unknown command {command!r}; use one of {', '.join(COMMANDS)}."
        if not path:
            return "Error: give the path of a file or directory."
        try:
            host = self.box.host_path(path)
        except PermissionError:
            return f"Error: {path} is outside the repository ({self.box.workdir}); only files there can be edited."
        try:
            if command == "view":
                return await self._view(path, host, view_range)
            if command == "create":
                return await self._create(path, host, file_text)
            if command == "undo_edit":
                return await self._undo(path, host)
            if not host.exists():
                return f"Error: {path} does not exist."
            if host.is_dir():
                return f"Error: {path} is a directory; {command} edits a file."
            if command == "str_replace":
                return await self._str_replace(path, host, old_str, new_str)
            return await self._insert(path, host, insert_line, new_str)
        except (OSError, ValueError) as e:  # unreadable file, a path the sandbox refuses, ...
            return f"Error: {command} {path} failed: {e}"

    # ---------------------------------------------------------------- commands

    async def _view(self, path, host, view_range) -> str:
        if not host.exists():
            return f"Error: {path} does not exist."
        if host.is_dir():
            if view_range:
                return "Error: view_range applies to files, not to directories."
            return await self._list(path)
        text = await self.box.read_file(path)
        lines = split_lines(text)
        first, last = 1, len(lines)
        if view_range:
            if len(view_range) != 2:
                return "Error: view_range must be two line numbers [start, end] (end -1 = to the end of the file)."
            first, last = int(view_range[0]), int(view_range[1])
            if last == -1:
                last = len(lines)
            if not 1 <= first <= max(len(lines), 1):
                return f"Error: view_range starts at line {first}, but {path} has {len(lines)} lines."
            if last < first:
                return f"Error: view_range [{first}, {last}] ends before it starts."
            last = min(last, len(lines))
        if not lines:
            return f"{path} is empty."
        return self._cap(f"{path}, lines {first}-{last} of {len(lines)}:\n" + numbered(lines[first - 1:last], first))

    async def _list(self, path: str) -> str:
        command = f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/.*' | sort"
        try:
            result = await self.box.exec(command, timeout=min(60.0, self.box.limits.timeout))
        except Exception as e:  # noqa: BLE001 - the sandbox failed; tell the agent rather than crash
            return f"Error: listing {path} failed: {e}"
        if not result.ok:
            return f"Error: listing {path} failed: {result.error or result.output.strip()}"
        return self._cap(f"Files and directories in {path}, two levels deep (hidden ones left out):\n"
                         + result.output.rstrip("\n"))

    async def _create(self, path, host, file_text) -> str:
        if file_text is None:
            return "Error: create needs file_text, the content of the new file."
        if host.exists():
            what = "a directory" if host.is_dir() else "a file"
            return (f"Error: {path} already exists ({what}); create never overwrites. "
                    "Change an existing file with str_replace or insert.")
        await self.box.write_file(path, file_text)
        self._remember(host, None)
        return f"Created {path} ({len(split_lines(file_text))} lines)."

    async def _str_replace(self, path, host, old_str, new_str) -> str:
        if not old_str:
            return "Error: str_replace needs old_str, the exact text to replace (it must not be empty)."
        new_str = new_str or ""
        if old_str == new_str:
            return "Error: old_str and new_str are the same; there is nothing to change."
        text = await self.box.read_file(path)
        starts = _occurrences(text, old_str)
        if not starts:
            return (f"Error: old_str was not found in {path}. It must match the file exactly, "
                    "indentation and blank lines included; view the file to copy the text.")
        if len(starts) > 1:
            lines = ", ".join(str(line_of(text, i)) for i in starts)
            return (f"Error: old_str occurs {len(starts)} times in {path} (starting on lines {lines}). "
                    "Include more surrounding lines so that it matches exactly one place.")
        start = starts[0]
        updated = text[:start] + new_str + text[start + len(old_str):]
        await self.box.write_file(path, updated)
        self._remember(host, text)
        first = line_of(updated, start)
        return self._edited(path, updated, first, first + new_str.count("\n"))

    async def _insert(self, path, host, insert_line, new_str) -> str:
        if insert_line is None:
            return "Error: insert needs insert_line, the line after which to insert (0 = at the top)."
        if new_str is None:
            return "Error: insert needs new_str, the text to insert."
        text = before = await self.box.read_file(path)
        count = len(split_lines(text))
        if not 0 <= insert_line <= count:
            return (f"Error: insert_line must be between 0 and {count} (the number of lines in {path}), "
                    f"not {insert_line}.")
        if insert_line == 0:
            offset = 0
        else:
            offset = _nth_newline(text, insert_line)
            if offset < 0:  # after a last line that has no newline
                text, offset = text + "\n", len(text) + 1
            else:
                offset += 1
        block = new_str if new_str.endswith("\n") else new_str + "\n"
        updated = text[:offset] + block + text[offset:]
        await self.box.write_file(path, updated)
        self._remember(host, before)
        added = len(split_lines(block)) or 1
        return self._edited(path, updated, insert_line + 1, insert_line + added)

    async def _undo(self, path, host) -> str:
        past = self.history.get(str(host))
        if not past:
            return f"Error: there is no edit of {path} to undo."
        previous = past.pop()
        if previous is None:
            await asyncio.to_thread(host.unlink, True)
            return f"Undid the creation of {path}: the file is removed."
        await self.box.write_file(path, previous)
        lines = split_lines(previous)
        return self._cap(f"Undid the last edit of {path}. It now reads:\n" + numbered(lines[:40])
                         + (f"\n... ({len(lines) - 40} more lines)" if len(lines) > 40 else ""))

    # ---------------------------------------------------------------- helpers

    def _remember(self, host, before: str | None) -> None:
        """Push the content before an edit on the file's undo stack (None: the file did not exist)."""
        stack = self.history.setdefault(str(host), [])
        stack.append(before)
        del stack[:-HISTORY_DEPTH]

    def _edited(self, path: str, text: str, first: int, last: int) -> str:
        lines = split_lines(text)
        lo, hi = max(1, first - SNIPPET_LINES), min(len(lines), last + SNIPPET_LINES)
        return self._cap(f"Edited {path}. Lines {lo}-{hi} now read:\n" + numbered(lines[lo - 1:hi], lo)
                         + "\nCheck the edit; undo_edit reverts it.")

    def _cap(self, text: str) -> str:
        cap = OutputCap(self.output_chars)
        cap.feed(text)
        return cap.text()


def _occurrences(text: str, needle: str) -> list[int]:
    """Start indices of every (possibly overlapping) occurrence."""
    found, i = [], text.find(needle)
    while i >= 0:
        found.append(i)
        i = text.find(needle, i + 1)
    return found


def _nth_newline(text: str, n: int) -> int:
    """Index of the n-th newline (1-based), or -1 if there are fewer."""
    i = -1
    for _ in range(n):
        i = text.find("\n", i + 1)
        if i < 0:
            return -1
    return i
