"""The native-tools action format: `bash` and `str_replace_editor` as model tool calls.

The tools are ordinary runtime `Tool`s bound to one `CodingEnv`, so their JSON
schemas, argument validation and error messages are the runtime's own.
"""

from __future__ import annotations

from typing import List, Literal, Optional

from agentforge.runtime.coding.actions import SUBMIT_SENTINEL
from agentforge.runtime.coding.env import CodingEnv
from agentforge.runtime.tools import Tool, Toolbox

BASH_DESCRIPTION = (
    "Run a bash command in the repository root and return its exit code and output. Each call is a fresh "
    "shell with no terminal and no stdin: no interactive programs. Long outputs keep only their start and end. "
    f"When the task is done, call it with `echo {SUBMIT_SENTINEL}` to submit your changes."
)
EDITOR_DESCRIPTION = (
    "View, create and edit files. `view` shows a file with line numbers (view_range [start, end] limits it; "
    "end -1 = to the end) or lists a directory two levels deep. `create` writes a new file from file_text "
    "(it never overwrites). `str_replace` replaces old_str, which must occur exactly once in the file, by "
    "new_str. `insert` adds new_str after line insert_line (0 = at the top). `undo_edit` reverts the last "
    "edit of the file."
)


def coding_toolbox(env: CodingEnv) -> Toolbox:
    """`bash` and `str_replace_editor` acting on `env`."""

    async def bash(command: str) -> str:
        """Run a bash command.

        Args:
            command: the command line to run in the repository root.
        """
        return await env.bash(command)

    async def str_replace_editor(
        command: Literal["view", "create", "str_replace", "insert", "undo_edit"],
        path: str,
        file_text: Optional[str] = None,
        old_str: Optional[str] = None,
        new_str: Optional[str] = None,
        insert_line: Optional[int] = None,
        view_range: Optional[List[int]] = None,
    ) -> str:
        """Edit files.

        Args:
            command: the editor command.
            path: a file or directory, relative to the repository root or absolute.
            file_text: the content of the file to create.
            old_str: the exact text to replace; it must occur exactly once.
            new_str: the replacement text (str_replace) or the text to insert (insert).
            insert_line: insert new_str after this line (0 = at the top).
            view_range: [start, end] lines to view; end -1 = to the end of the file.
        """
        return await env.edit(command=command, path=path, file_text=file_text, old_str=old_str,
                              new_str=new_str, insert_line=insert_line, view_range=view_range)

    return Toolbox([
        Tool(bash, description=BASH_DESCRIPTION),
        Tool(str_replace_editor, description=EDITOR_DESCRIPTION),
    ])
