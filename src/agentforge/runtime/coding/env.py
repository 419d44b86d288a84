"""What the coding agent acts on: a started sandbox, its editor, and the submission flag.

Both action formats end up here. A shell command becomes an observation
(`<returncode>`, any limit that stopped it, the output capped to head and
tail by the sandbox); a failure of the sandbox itself also becomes an
observation, never an exception, so one bad command cannot end a run.
"""

from __future__ import annotations

import time
from typing import Any

from agentforge.runtime.coding.actions import is_submission
from agentforge.runtime.coding.editor import Editor
from agentforge.runtime.sandbox import Sandbox


class CodingEnv:
    def __init__(self, box: Sandbox, command_timeout: float | None = None, deadline: float | None = None):
        self.box = box
        self.editor = Editor(box)
        self.command_timeout = command_timeout or box.limits.timeout
        self.deadline = deadline  # time.monotonic() after which commands get no more time
        self.submitted = False

    def _timeout(self) -> float:
        if self.deadline is None:
            return self.command_timeout
        return max(1.0, min(self.command_timeout, self.deadline - time.monotonic()))

    async def bash(self, command: str) -> str:
        """Run one shell command; its observation. Printing the sentinel first submits."""
        try:
            result = await self.box.exec(command, timeout=self._timeout())
        except Exception as e:  # noqa: BLE001 - the sandbox broke, not the command: report it to the agent
            return (f"<returncode>-1</returncode>\n<error>the sandbox failed to run the command: {e}</error>\n"
                    "<output>\n</output>")
        if is_submission(result.output):
            self.submitted = True
        return result.observation()

    async def edit(self, **arguments: Any) -> str:
        """One str_replace_editor call; its answer (errors start with "Error:")."""
        return await self.editor.run(**arguments)

    async def edit_observation(self, arguments: dict[str, Any]) -> str:
        """An editor call in the text format, shaped like a command's observation."""
        answer = await self.edit(**arguments)
        code = 1 if answer.startswith("Error:") else 0
        return f"<returncode>{code}</returncode>\n<output>\n{answer.rstrip()}\n</output>"
