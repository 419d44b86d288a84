"""One agent candidate for one SWE-bench instance: fresh checkout, sandbox, code agent, patch."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.runner import request_seed
from agentforge.harnesses.swebench.environment import build_env, env_sandbox
from agentforge.harnesses.swebench.instances import Instance
from agentforge.harnesses.swebench.repos import RepoSource
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding.loop import CodingLimits, CodingResult, run_coding_agent
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import Limits

AGENT_LIMITS = dict(memory_mb=4096, pids=512, output_chars=10_000)  # the paper's scaffold: 10k chars, head+tail


@dataclass
class AgentOutcome:
    patch: str
    status: str
    steps: int
    trajectory: str  # relative to the run directory
    signals: dict = field(default_factory=dict)  # SampleResult fields: token_logprobs, token_confidences, tokens


async def solve_instance(instance: Instance, backend: Backend, config, repos: RepoSource, sample: int,
                         run_dir: Path, log=None) -> AgentOutcome:
    """Run the code agent on `instance` (config: a SweConfig) and return its patch."""
    sampling = Sampling(temperature=config.temperature, top_p=config.top_p, max_tokens=config.max_tokens,
                        seed=request_seed(config.seed, instance.instance_id, sample))
    relative = f"trajectories/{safe_name(instance.instance_id)}/{sample}.json"
    result = await run_agent(instance, backend, repos, sandbox=config.sandbox, sampling=sampling,
                             limits=CodingLimits(max_steps=config.max_steps, context_tokens=config.context_tokens,
                                                 command_timeout=config.command_timeout),
                             action_format=config.format, top_logprobs=config.top_logprobs or None,
                             save_to=Path(run_dir) / relative, log=log)
    tokens = sum(c.usage.completion_tokens for c in result.completions)
    signals = {"token_logprobs": [round(x, 4) for x in result.token_logprobs],
               "token_confidences": [round(x, 4) for x in result.token_confidences], "tokens": tokens}
    return AgentOutcome(patch=result.patch, status=result.status, steps=result.steps, trajectory=relative,
                        signals=signals)


async def run_agent(instance: Instance, backend: Backend, repos: RepoSource, *, sandbox: str, sampling: Sampling,
                    limits: CodingLimits, action_format: str = "text", top_logprobs: int | None = None,
                    save_to: Path | None = None, log=None) -> CodingResult:
    """The code agent on a fresh checkout of `instance` in a `sandbox` (the kind) with its environment.
    The result holds every Completion in memory (RL reads their token ids, which saved trajectories omit)."""
    if instance.environment is None:
        raise RuntimeError(f"{instance.instance_id} has no `environment`: the agent runs only on instances "
                           "our sandboxes can build (official rows need their docker image)")
    env = await build_env(instance.environment, sandbox, log=log)
    with tempfile.TemporaryDirectory(prefix="agentforge-agent-") as tmp:
        workspace = await repos.checkout(instance.repo, instance.base_commit, Path(tmp) / "repo")
        box = env_sandbox(sandbox, workspace, env,
                          Limits(timeout=limits.command_timeout or 120.0, **AGENT_LIMITS))
        async with box:
            return await run_coding_agent(
                backend, box, instance.problem_statement, action_format=action_format, sampling=sampling,
                limits=limits, base_commit=instance.base_commit, top_logprobs=top_logprobs,
                task_id=instance.instance_id, save_to=save_to)
