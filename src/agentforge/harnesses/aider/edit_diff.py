"""Aider's `diff` edit format: SEARCH/REPLACE blocks, matched by Aider's rules.

    path/to/file.py
    ```python
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE
    ```

Matching, in order (Aider's edit-distance fallback is unreachable there, so absent here):
  1. the SEARCH lines exactly;
  2. the same lines but for a uniform difference in leading whitespace (the REPLACE
     lines get the file's indentation);
  3. 1 and 2 again without a spurious leading blank line;
  4. `...` elision: SEARCH and REPLACE split on their `...` lines, piece by piece.
Only the first match is replaced. A block that does not match its file is tried on
the other chat files. Blocks that match are applied even when others fail; the
failures go back to the model. An empty SEARCH creates the file (or appends to it).
"""

from __future__ import annotations

import re

from agentforge.harnesses.aider.edit_whole import EditFormatError, EditResult, resolve_name, strip_filename

HEAD = re.compile(r"^<{5,9} SEARCH\s*$")
DIVIDER = re.compile(r"^={5,9}\s*$")
UPDATED = re.compile(r"^>{5,9} REPLACE\s*$")
DOTS = re.compile(r"^\s*\.\.\.\s*$")


def _filename(lines: list[str], fence: str, chat_files: list[str]) -> str | None:
    """The filename in the (up to 3) lines before a SEARCH marker: the nearest line that is not
    a fence, if it names a chat file (maybe in a wrong folder) or looks like a file (has a dot)."""
    for line in reversed(lines[-3:]):
        if line.strip().startswith((fence, "```")):
            continue
        name = strip_filename(line)
        if name and (resolve_name(name, chat_files) in chat_files or "." in name):
            return name
        return None
    return None


def parse_blocks(reply: str, chat_files: list[str], fence: tuple[str, str]) -> list[tuple[str, str, str]]:
    """(filename, search, replace) per block; EditFormatError on an unterminated or nameless block."""
    lines = reply.splitlines(keepends=True)
    blocks: list[tuple[str, str, str]] = []
    current: str | None = None
    i = 0
    while i < len(lines):
        if not HEAD.match(lines[i].strip()):
            i += 1
            continue
        name = _filename(lines[max(0, i - 3):i], fence[0], chat_files)
        if name is not None:
            current = resolve_name(name, chat_files)
        elif current is None:
            if len(chat_files) != 1:
                raise EditFormatError("Bad/missing filename. The filename must be alone on the line before the "
                                      "opening fence of each SEARCH/REPLACE block.")
            current = chat_files[0]
        search, replace = [], []
        i += 1
        while i < len(lines) and not DIVIDER.match(lines[i].strip()):
            search.append(lines[i])
            i += 1
        if i >= len(lines):
            raise EditFormatError("Expected `=======` after the SEARCH section of a SEARCH/REPLACE block")
        i += 1
        while i < len(lines) and not UPDATED.match(lines[i].strip()) and not DIVIDER.match(lines[i].strip()):
            replace.append(lines[i])
            i += 1
        if i >= len(lines):
            raise EditFormatError("Expected `>>>>>>> REPLACE` to end a SEARCH/REPLACE block")
        blocks.append((current, "".join(search), "".join(replace)))
        i += 1
    return blocks


def _lines(text: str) -> list[str]:
    if text and not text.endswith("\n"):
        text += "\n"
    return text.splitlines(keepends=True)


def _exact(whole: list[str], part: list[str], replace: list[str]) -> str | None:
    n = len(part)
    for start in range(len(whole) - n + 1):
        if whole[start:start + n] == part:
            return "".join(whole[:start] + replace + whole[start + n:])
    return None


def _leading_whitespace(whole: list[str], part: list[str], replace: list[str]) -> str | None:
    """Match `part` ignoring a uniform leading-whitespace offset; re-indent `replace` by it."""
    widths = [len(p) - len(p.lstrip()) for p in part if p.strip()]
    cut = min(widths) if widths else 0
    part = [p[cut:] if p.strip() else p for p in part]
    replace = [p[cut:] if p.strip() else p for p in replace]
    n = len(part)
    for start in range(len(whole) - n + 1):
        window = whole[start:start + n]
        if any(w.lstrip() != p.lstrip() for w, p in zip(window, part)):
            continue
        prefixes = {w[:len(w) - len(p)] for w, p in zip(window, part) if w.strip()}
        if len(prefixes) != 1:
            continue
        prefix = prefixes.pop()
        if prefix.strip():
            continue
        indented = [prefix + r if r.strip() else r for r in replace]
        return "".join(whole[:start] + indented + whole[start + n:])
    return None


def _dotdotdots(whole: str, part: str, replace: str) -> str | None:
    """`...` elision: the pieces between `...` lines replaced one for one (each exactly once)."""
    split = re.compile(r"(^\s*\.\.\.\s*\n)", re.MULTILINE)
    parts, replaces = split.split(part), split.split(replace)
    if len(parts) == 1:
        return None
    if len(parts) != len(replaces) or any(a != b for a, b in zip(parts[1::2], replaces[1::2])):
        return None
    for p, r in zip(parts[0::2], replaces[0::2]):
        if not p and not r:
            continue
        if not p:  # an addition at the end
            whole = whole + r if whole.endswith("\n") else whole + "\n" + r
            continue
        if whole.count(p) != 1:
            return None
        whole = whole.replace(p, r, 1)
    return whole


def replace_block(content: str, search: str, replace: str) -> str | None:
    """`content` with the first match of `search` replaced, by Aider's rules; None if none matches."""
    whole, part, new = _lines(content), _lines(search), _lines(replace)
    for attempt_part in (part, part[1:] if part and not part[0].strip() else None):
        if not attempt_part:
            continue
        for match in (_exact, _leading_whitespace):
            result = match(whole, attempt_part, new)
            if result is not None:
                return result
    return _dotdotdots("".join(whole), "".join(part), "".join(new))


def apply_diff(reply: str, files: dict[str, str], fence: tuple[str, str]) -> EditResult:
    """Apply every block that matches (`files`: path -> current content); list the others."""
    blocks = parse_blocks(reply, list(files), fence)
    current = dict(files)
    written: dict[str, str] = {}
    errors: list[str] = []
    for name, search, replace in blocks:
        if not search.strip():  # create, or append to, the file
            current[name] = current.get(name, "") + replace
            written[name] = current[name]
            continue
        targets = [name] + [f for f in current if f != name]
        for target in targets:
            if target not in current:
                continue
            result = replace_block(current[target], search, replace)
            if result is not None:
                current[target] = written[target] = result
                break
        else:
            errors.append(f"## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in {name}\n"
                          f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n")
    return EditResult(files=written, errors=errors)
