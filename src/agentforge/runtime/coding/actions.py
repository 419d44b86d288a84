"""The text action format: a THOUGHT, then exactly one ```bash block per turn.

`parse_action` takes the assistant's reply and returns the command to run or
the format-error message to feed back. In this format the editor is reached
from the bash block too: a command whose first word is `str_replace_editor`
is not given to the shell but parsed here (`parse_editor_command`) and run by
the editor, with the same arguments as the native tool:

    str_replace_editor str_replace src/calc.py --old_str 'return a - b' --new_str 'return a + b'
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from agentforge.runtime.coding.editor import COMMANDS

SUBMIT_SENTINEL = "AGENTFORGE_SUBMIT_PATCH"  # the first output line that ends the run
EDITOR_NAME = "str_replace_editor"

_BASH_BLOCK = re.compile(r"```bash[ \t]*\r?\n(.*?)```", re.DOTALL)
_FLAGS = {"--file_text": "file_text", "--old_str": "old_str", "--new_str": "new_str",
          "--insert_line": "insert_line", "--view_range": "view_range"}

FORMAT_REMINDER = (
    "Reply with a short THOUGHT, then exactly one command in a single block:\n\n"
    "THOUGHT: what you will do and why.\n\n```bash\nyour command here\n```\n\n"
    f"When the task is done, submit with:\n\n```bash\necho {SUBMIT_SENTINEL}\n```"
)


@dataclass
class Action:
    """What one assistant turn asked for: a command, or a format error to feed back."""

    command: str | None = None
    error: str | None = None
    editor_args: dict[str, Any] | None = field(default=None)  # set when the command is an editor call


def parse_action(text: str) -> Action:
    """The single ```bash block of a reply (0 or several blocks: a format error)."""
    blocks = [b.strip() for b in _BASH_BLOCK.findall(text or "")]
    if len(blocks) != 1:
        found = "no ```bash block" if not blocks else f"{len(blocks)} ```bash blocks"
        return Action(error=f"Format error: your reply had {found}, and it must have exactly one.\n{FORMAT_REMINDER}")
    command = blocks[0]
    if not command:
        return Action(error=f"Format error: the ```bash block is empty.\n{FORMAT_REMINDER}")
    if command.split(maxsplit=1)[0] == EDITOR_NAME:
        args, problem = parse_editor_command(command)
        if problem:
            return Action(command=command, error=problem)
        return Action(command=command, editor_args=args)
    return Action(command=command)


EDITOR_USAGE = (
    f"Usage: {EDITOR_NAME} view PATH [--view_range START END] | create PATH --file_text TEXT | "
    "str_replace PATH --old_str OLD [--new_str NEW] | insert PATH --insert_line N --new_str TEXT | undo_edit PATH "
    "(quote multi-line text with single quotes; the editor call must be the whole command)"
)


def parse_editor_command(command: str) -> tuple[dict[str, Any], str | None]:
    """`str_replace_editor CMD PATH --flag value ...` -> (arguments, error message or None)."""
    try:
        words = shlex.split(command, posix=True)
    except ValueError as e:
        return {}, f"Error: cannot parse the {EDITOR_NAME} command ({e}).\n{EDITOR_USAGE}"
    words = words[1:]
    if len(words) < 2:
        return {}, f"Error: {EDITOR_NAME} needs a command and a path.\n{EDITOR_USAGE}"
    sub, path, rest = words[0], words[1], words[2:]
    if sub not in COMMANDS:
        return {}, f"Error: unknown {EDITOR_NAME} command {sub!r}.\n{EDITOR_USAGE}"
    args: dict[str, Any] = {"command": sub, "path": path}
    i = 0
    while i < len(rest):
        flag = rest[i]
        key = _FLAGS.get(flag)
        if key is None:
            return {}, f"Error: unexpected argument {flag!r} to {EDITOR_NAME}.\n{EDITOR_USAGE}"
        take = 2 if key == "view_range" else 1
        values = rest[i + 1:i + 1 + take]
        if len(values) < take:
            return {}, f"Error: {flag} needs {take} value{'s' if take > 1 else ''}.\n{EDITOR_USAGE}"
        if key in ("insert_line", "view_range"):
            try:
                numbers = [int(v) for v in values]
            except ValueError:
                return {}, f"Error: {flag} takes whole numbers, not {' '.join(values)!r}.\n{EDITOR_USAGE}"
            args[key] = numbers if key == "view_range" else numbers[0]
        else:
            args[key] = values[0]
        i += 1 + take
    return args, None


def is_submission(output: str) -> bool:
    """The command printed the submission sentinel as its first line."""
    lines = output.lstrip().splitlines()
    return bool(lines) and lines[0].strip() == SUBMIT_SENTINEL
