"""Scripted coding trajectories: gold fixes played through the real agent loop and graded like a benchmark.

    stats = await scripted_run(instances_path, repos_dir, run_dir, sandbox="bwrap")

`plan_fix` (script.py) writes each instance's replies; `ScriptedCoder` is a
backend that plays them. The run itself is `agent bench swebench`'s own code
(`run_swebench`, source agent): fresh checkout, sandbox, the code agent loop,
the harness's grading, the journal, resume. So every observation in a
trajectory is what the command really printed in the sandbox, and the run
directory is an ordinary benchmark run that `distill.py` turns into training
records, keeping only what resolved.

The coder checks each observation against what its script expected (the
failing test fails, each edit applies, the tests pass after the fix); on a
surprise it stops the run with a model error, so that trajectory is never
kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from agentforge.harnesses.swebench.instances import Instance, load_instances
from agentforge.harnesses.swebench.repos import RepoSource
from agentforge.runtime.backends.base import BackendError, stream_from_complete
from agentforge.runtime.git import GitError, git_text
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.training.synth.swe.script import ScriptError, Turn, plan_fix

MODEL_NAME = "scripted-gold"
MAX_STEPS = 50
_ISSUE_OPEN, _ISSUE_CLOSE = "<issue>\n", "\n</issue>"


class ScriptedCoder:
    """A backend that answers each conversation with the next turn of its instance's script.

    The instance is recognised by its issue text in the first user message;
    the turn by how many assistant messages came before. Stateless, so the
    runner may run instances concurrently and resume.
    """

    name = MODEL_NAME

    def __init__(self, scripts: dict[str, list[Turn]]):
        self.scripts = scripts  # issue text (stripped) -> turns

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        turns = self.scripts.get(_issue_of(messages))
        if turns is None:
            raise BackendError("ScriptedCoder: no script for this issue")
        done = sum(m.role == "assistant" for m in messages)
        if done:
            problem = turns[done - 1].check(messages[-1].content or "")
            if problem:
                raise BackendError(f"ScriptedCoder: step {done}: {problem}")
        if done >= len(turns):
            raise BackendError("ScriptedCoder: the script is over but the agent did not submit")
        text = turns[done].text
        return [Completion(text=text, content=text, model=MODEL_NAME) for _ in range(n)]

    def stream(self, messages, tools=None, n=1, sampling=None):
        return stream_from_complete(self, messages, tools, n, sampling)

    async def aclose(self) -> None:
        pass


def _issue_of(messages: Sequence[Message]) -> str:
    prompt = next((m.content or "" for m in messages if m.role == "user"), "")
    start = prompt.find(_ISSUE_OPEN)
    end = prompt.find(_ISSUE_CLOSE, start + 1)
    return prompt[start + len(_ISSUE_OPEN):end].strip() if start >= 0 and end > start else ""


@dataclass
class Scripts:
    instances: list[Instance]  # those with a script, in file order
    by_issue: dict[str, list[Turn]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # instance id -> why it has no script


def file_reader(source: RepoSource, instance: Instance):
    """read_file(path) -> the file at the instance's base commit, from its git mirror."""
    where = source.locate(instance.repo)

    def read(path: str) -> str:
        bare = (Path(where) / "HEAD").exists()
        try:
            return git_text("show", f"{instance.base_commit}:{path}", config=[f"--git-dir={where}"] if bare else [],
                            cwd=None if bare else where, timeout=120)
        except GitError as e:
            raise ScriptError(f"cannot read {path} at {instance.base_commit[:12]}: {e}") from None

    return read


def make_scripts(instances: list[Instance], source: RepoSource) -> Scripts:
    """Plan every instance; those the script cannot express, or whose issue text repeats, are skipped."""
    scripts = Scripts(instances=[])
    for instance in instances:
        issue = instance.problem_statement.strip()
        if not issue:
            scripts.skipped[instance.instance_id] = "no problem statement"
            continue
        if issue in scripts.by_issue:
            scripts.skipped[instance.instance_id] = "the same problem statement as an earlier instance"
            continue
        try:
            scripts.by_issue[issue] = plan_fix(instance, file_reader(source, instance))
        except ScriptError as e:
            scripts.skipped[instance.instance_id] = str(e)
            continue
        scripts.instances.append(instance)
    return scripts


async def scripted_run(instances_path: Path, repos: Path, run_dir: Path, *, sandbox: str = "auto",
                       concurrency: int = 1, limit: int | None = None, ids: list[str] | None = None,
                       console=None, progress: bool = True) -> tuple[Scripts, dict]:
    """Play the scripts of `instances_path` through `agent bench swebench` into `run_dir` (resumable).

    Returns the scripts (with the instances skipped and why) and the run's summary.
    """
    from agentforge.harnesses.swebench.bench import SweConfig, run_swebench

    source = RepoSource(mirror=Path(repos))
    instances = load_instances(instances_path, ids=ids, limit=limit)
    scripts = make_scripts(instances, source)
    if not scripts.instances:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(scripts.skipped.items())[:5])
        raise ScriptError(f"no instance of {instances_path} can be scripted ({reasons})")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    planned = run_dir / "scripted-instances.jsonl"  # the run's own instance file: only those with a script
    planned.write_text("".join(i.model_dump_json() + "\n" for i in scripts.instances))
    # A script that runs out is a model error before any step limit (scripts are far shorter);
    # no retries: a script that fails once fails every time.
    config = SweConfig(instances=str(planned), repos=str(repos), source="agent", model=MODEL_NAME,
                       sandbox=sandbox, temperature=0.0, top_p=1.0, top_logprobs=0, concurrency=concurrency,
                       max_steps=MAX_STEPS, retries=0, selectors=["first"])
    _, summary = await run_swebench(config, run_dir, backend=ScriptedCoder(scripts.by_issue), console=console,
                                    progress=progress)
    return scripts, summary
