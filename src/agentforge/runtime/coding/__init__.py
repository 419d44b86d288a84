"""A coding agent (the mini-swe-agent-plus shape of the paper): issue + repository in, patch out.

    async with make_sandbox("bwrap", SandboxSpec(workspace=checkout)) as box:
        result = await run_coding_agent(backend, box, issue, action_format="text")
    result.status   # submitted | step_limit | context_exhausted | time_limit | model_error
    result.patch    # git diff of the agent's changes

Modules, one concept each: `actions` (the text format: THOUGHT + one bash
block), `editor` (the str_replace editor), `env` (sandbox + editor +
submission), `toolset` (the native-tools format), `prompts`, `patches`
(the workspace's diff, and normalized patches for voting), `loop` (the agent loop and its result).
"""

from agentforge.runtime.coding.actions import SUBMIT_SENTINEL, Action, parse_action, parse_editor_command
from agentforge.runtime.coding.editor import Editor
from agentforge.runtime.coding.env import CodingEnv
from agentforge.runtime.coding.loop import (ActionFormat, CodingLimits, CodingResult, CodingStatus,
                                            run_coding_agent)
from agentforge.runtime.coding.patches import normalize_patch
from agentforge.runtime.coding.toolset import coding_toolbox

__all__ = [
    "SUBMIT_SENTINEL", "Action", "ActionFormat", "CodingEnv", "CodingLimits", "CodingResult", "CodingStatus",
    "Editor", "coding_toolbox", "normalize_patch", "parse_action", "parse_editor_command", "run_coding_agent",
]
