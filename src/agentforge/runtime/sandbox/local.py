"""No isolation at all: commands run on the host, in the workspace directory.

Only on explicit request (`--sandbox local`), with a loud warning: a model
command here can read and write anything the user can. Limits still apply
(timeout, output cap, and memory/process limits through cgroups or rlimits).
"""

from __future__ import annotations

import logging
import os


from .base import ExecResult, Sandbox, SandboxSpec
from .process import run_process

log = logging.getLogger(__name__)
WARNING = ("SANDBOX 'local' GIVES NO ISOLATION: model-written commands run on this machine "
           "with your permissions, network included. Use it only for code you would run yourself.")


class LocalSandbox(Sandbox):
    name = "local"

    def __init__(self, spec: SandboxSpec):
        super().__init__(spec)
        self.workdir = str(self.workspace)

    async def start(self) -> None:
        await super().start()
        log.warning(WARNING)

    async def exec(self, command: str, timeout: float | None = None,
                   env: dict[str, str] | None = None, output_chars: int | None = None) -> ExecResult:
        environment = {**os.environ, "GIT_PAGER": "cat", "PAGER": "cat", "PYTHONDONTWRITEBYTECODE": "1",
                       **self.spec.env, **(env or {})}
        return self._note_disk(await run_process(["/bin/bash", "-c", command], self.limits, timeout=timeout,
                                                 output_chars=output_chars, env=environment, cwd=self.workdir))



