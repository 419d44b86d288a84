"""The coding agent loop on a real bwrap sandbox. The model is scripted
(tests/fakes/scripted_backend.py via scripting.py) except in the last test,
which runs the real embedded model."""

from __future__ import annotations

import json
import subprocess

import pytest

from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.coding import SUBMIT_SENTINEL, CodingLimits, normalize_patch, run_coding_agent
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import SandboxSpec, make_sandbox
from agentforge.runtime.trajectory import Trajectory
from tests.fakes.scripted_backend import ScriptedBackend
from tests.runtime.coding.conftest import LIMITS
from tests.runtime.coding.scripting import bash, call, git, scripted

FIX = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def mul(a, b):
"""
SUBMIT = bash(f"echo {SUBMIT_SENTINEL}")
SED_FIX = "sed -i 's/a - b/a + b/' calc.py"


def applies(repo, patch: str, tmp_path) -> bool:
    """The patch applies to a fresh clone of the repository at its first commit."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    return subprocess.run(["git", "apply", "--check", "-"], cwd=clone, input=patch.encode()).returncode == 0


async def test_text_format_fix_and_submit(box, repo, tmp_path):
    backend = scripted([
        ("THOUGHT: I will just think about it.", []),  # no block: a format error, still a step
        bash("str_replace_editor str_replace calc.py --old_str '    return a - b' --new_str '    return a + b'"),
        bash("python3 check_calc.py"),
        SUBMIT,
    ])
    save = tmp_path / "traj.json"
    result = await run_coding_agent(backend, box, "add() subtracts", save_to=save, top_logprobs=2)

    assert result.status == "submitted" and result.submitted and result.steps == 4
    assert normalize_patch(result.patch) == normalize_patch(FIX)
    assert applies(repo, result.patch, tmp_path)
    msgs = result.trajectory.messages
    assert msgs[0].role == "system" and "```bash" in msgs[0].content
    assert "add() subtracts" in msgs[1].content and "/workspace" in msgs[1].content
    assert msgs[3].role == "user" and "Format error" in msgs[3].content
    assert msgs[5].content.startswith("<returncode>0</returncode>") and "Edited calc.py" in msgs[5].content
    assert "<returncode>0</returncode>" in msgs[7].content and "ok" in msgs[7].content
    assert result.trajectory.steps[0].error == "format error"
    # the trajectory on disk is the final one, with the coding status and the patch
    saved = Trajectory.load(save)
    assert saved.status == "done" and saved.metadata["coding_status"] == "submitted"
    assert saved.metadata["patch"] == result.patch and len(saved.steps) == 4
    assert saved.metadata["actions"][0] == "" and saved.metadata["actions"][2] == "python3 check_calc.py"
    # every completion keeps its logprobs; the confidence asked for reached the backend
    assert all(c.logprobs for c in saved.completions)
    assert all(s.logprobs and s.top_logprobs == 2 for _, s in backend.requests)
    assert len(result.token_confidences) == 4 * 5 and result.confidence > 0


async def test_trajectory_is_saved_after_every_step(box, tmp_path):
    save = tmp_path / "traj.json"
    seen = []

    def on_step(traj, step):
        seen.append(len(Trajectory.load(save).steps))

    await run_coding_agent(scripted([bash("ls"), bash("ls"), SUBMIT]), box, "x", save_to=save, on_step=on_step)
    assert seen == [1, 2, 3]


async def test_tools_format_fix_and_submit(box, repo, tmp_path):
    backend = scripted([
        ("I am not sure what to do.", []),  # no tool call: told to call one
        call("str_replace_editor", command="view", path="calc.py", view_range=[1, 2]),
        call("str_replace_editor", command="str_replace", path="calc.py",
             old_str="    return a - b", new_str="    return a + b"),
        call("bash", command=f"echo {SUBMIT_SENTINEL} && git status --short"),
    ])
    result = await run_coding_agent(backend, box, "add() subtracts", action_format="tools")

    assert result.status == "submitted" and result.steps == 4
    assert normalize_patch(result.patch) == normalize_patch(FIX)
    assert backend.offered == [["bash", "str_replace_editor"]] * 4
    msgs = result.trajectory.messages
    assert msgs[3].role == "user" and "called no tool" in msgs[3].content
    assert msgs[5].role == "tool" and "     2\t    return a - b" in msgs[5].content
    assert msgs[7].role == "tool" and msgs[7].content.startswith("Edited calc.py")
    assert msgs[9].role == "tool" and SUBMIT_SENTINEL in msgs[9].content
    assert result.trajectory.metadata["actions"][1] == "str_replace_editor view calc.py"


async def test_tool_errors_come_back_as_tool_results(box):
    backend = scripted([
        call("str_replace_editor", command="explode", path="calc.py"),
        call("bash", cmd="ls"),
        call("nope", x=1),
        SUBMIT,  # text in tools mode: no tool call
        call("bash", command=f"echo {SUBMIT_SENTINEL}"),
    ])
    result = await run_coding_agent(backend, box, "x", action_format="tools")
    assert result.status == "submitted" and result.steps == 5 and result.patch == ""
    obs = [s.observations[0].content for s in result.trajectory.steps]
    assert "invalid arguments" in obs[0] and "command" in obs[0]
    assert "missing required" in obs[1] or "unknown parameter" in obs[1]
    assert "unknown tool 'nope'" in obs[2]
    assert "called no tool" in obs[3]


async def test_step_limit_still_returns_the_diff(box):
    backend = scripted([bash(SED_FIX), bash("ls")])
    result = await run_coding_agent(backend, box, "x", limits=CodingLimits(max_steps=3))
    assert result.status == "step_limit" and result.steps == 3
    assert normalize_patch(result.patch) == normalize_patch(FIX)
    assert result.trajectory.status == "step_limit"


async def test_context_budget_stops_with_context_exhausted(box):
    backend = scripted([bash(f"{SED_FIX} && seq 1 20000"), bash("ls")])
    result = await run_coding_agent(backend, box, "x", limits=CodingLimits(context_tokens=2000))
    assert result.status == "context_exhausted" and result.steps == 1
    assert normalize_patch(result.patch) == normalize_patch(FIX)
    assert result.trajectory.status == "token_limit"
    observation = result.trajectory.messages[-1].content
    assert "output too long" in observation and observation.count("\n") < 3000  # head + tail only
    assert "\n1\n2\n3\n" in observation and "19999\n20000\n" in observation


async def test_command_timeout_is_an_observation(box):
    backend = scripted([bash("echo start; sleep 10"), SUBMIT])
    result = await run_coding_agent(backend, box, "x", limits=CodingLimits(command_timeout=1))
    assert result.status == "submitted" and result.steps == 2
    observation = result.trajectory.steps[0].observations[0].content
    assert "timed out after 1 s" in observation and "start" in observation
    assert observation.startswith("<returncode>137</returncode>")


async def test_time_limit(box):
    backend = scripted([bash(SED_FIX), bash("sleep 10")])
    result = await run_coding_agent(backend, box, "x", limits=CodingLimits(max_seconds=1.5))
    assert result.status == "time_limit" and result.steps == 2
    assert normalize_patch(result.patch) == normalize_patch(FIX)


async def test_model_error_stops_and_keeps_the_diff(box):
    def reply(messages, tools, index):
        if sum(m.role == "assistant" for m in messages):
            raise BackendError("the server is gone")
        return bash(SED_FIX)

    result = await run_coding_agent(ScriptedBackend(reply), box, "x")
    assert result.status == "model_error" and result.error == "the server is gone" and result.steps == 1
    assert normalize_patch(result.patch) == normalize_patch(FIX)
    assert result.trajectory.status == "error"


async def test_patch_includes_new_files_and_commits_against_the_start(box, repo):
    commit = "git add -A && git -c user.name=a -c user.email=a@a commit -qm wip && echo > calc.py"
    backend = scripted([bash("str_replace_editor create notes/new.py --file_text 'X = 1'"), bash(commit), SUBMIT])
    start = git(repo, "rev-parse", "HEAD").strip()
    result = await run_coding_agent(backend, box, "x")
    assert result.base_commit == start
    assert "+++ b/notes/new.py" in result.patch and "+X = 1" in result.patch
    assert "-def add(a, b):" in result.patch  # the emptied calc.py, even after the agent's commit


async def test_sandbox_failure_is_an_observation(box):
    backend = scripted([bash("ls"), SUBMIT])

    async def broken(command, timeout=None, env=None, output_chars=None):
        raise RuntimeError("container vanished")

    real = box.exec
    box.exec = broken
    try:
        result = await run_coding_agent(backend, box, "x", base_commit="HEAD", limits=CodingLimits(max_steps=2))
    finally:
        box.exec = real
    assert result.status == "step_limit"
    assert "container vanished" in result.trajectory.steps[0].observations[0].content
    assert "could not take the diff" in result.error


async def test_a_block_inside_reasoning_is_not_an_action(box):
    thinking = f"<think>maybe\n```bash\nrm -rf /\n```\n</think>THOUGHT: list.\n```bash\necho {SUBMIT_SENTINEL}\n```"
    result = await run_coding_agent(scripted([(thinking, [])]), box, "x")
    assert result.status == "submitted" and result.steps == 1



async def test_chained_editor_call_gets_a_hint(box):
    backend = scripted([bash("cd /workspace && str_replace_editor view calc.py"), SUBMIT])
    result = await run_coding_agent(backend, box, "x")
    observation = result.trajectory.steps[0].observations[0].content
    assert "command not found" in observation and "only as the whole command" in observation

@pytest.mark.model
async def test_embedded_model_end_to_end(embedded, box, tmp_path):
    save = tmp_path / "traj.json"
    result = await run_coding_agent(
        embedded, box, "add(2, 3) returns -1 instead of 5; fix add in calc.py.",
        sampling=Sampling(temperature=0.7, top_p=0.95, max_tokens=48, seed=0),
        limits=CodingLimits(max_steps=3, context_tokens=6000), top_logprobs=5, save_to=save)
    assert result.status in ("submitted", "step_limit", "context_exhausted")
    assert 1 <= result.steps <= 3
    saved = Trajectory.load(save)
    assert len(saved.steps) == result.steps and saved.metadata["coding_status"] == result.status
    assert all(c.logprobs and c.token_ids for c in saved.completions)
    assert result.token_confidences and result.confidence > 0
    json.loads(save.read_text())  # one JSON object per line


async def test_git_warnings_stay_out_of_the_patch(repo, tmp_path):
    # git prints warnings to stderr, e.g. when a change renames more files than
    # diff.renameLimit allows (1000 by default; 1 here, so three renames do it).
    # The repository is ready before the sandbox opens, as in every real run (the
    # open sandbox's workspace belongs to its unprivileged user).
    git(repo, "config", "diff.renameLimit", "1")
    for i in range(3):
        (repo / f"data{i}.txt").write_text("".join(f"line {k}\n" for k in range(50)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "data")
    renames = " && ".join(f"git mv data{i}.txt moved{i}.txt && echo more >> moved{i}.txt" for i in range(3))
    backend = scripted([bash(f"{SED_FIX} && {renames}"), SUBMIT])
    async with make_sandbox("bwrap", SandboxSpec(workspace=repo, limits=LIMITS)) as box:
        result = await run_coding_agent(backend, box, "x", base_commit=git(repo, "rev-parse", "HEAD").strip())

    assert result.status == "submitted" and result.error is None
    assert "warning" not in result.patch and "renameLimit" not in result.patch
    assert result.patch.startswith("diff --git ") and "+    return a + b" in result.patch
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    git(clone, "checkout", "-q", "HEAD")
    subprocess.run(["git", "apply", "-"], cwd=clone, input=result.patch.encode(), check=True)
    assert (clone / "moved2.txt").read_text().endswith("line 49\nmore\n") and not (clone / "data2.txt").exists()


async def test_a_failing_git_diff_says_why(box):
    backend = scripted([bash("rm -rf .git/objects/* && echo broken"), SUBMIT])
    result = await run_coding_agent(backend, box, "x")
    assert result.patch == ""
    assert "could not take the diff: git diff failed in the sandbox" in result.error
    assert "fatal: bad object" in result.error  # git's stderr, shown when git fails
