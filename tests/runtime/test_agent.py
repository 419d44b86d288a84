"""The agent loop. Most tests drive it with `Scripted`, a test double that
replays fixed completions (so limits and error paths are exact); the last
runs a real episode on the embedded model."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from agentforge.runtime.agent import Limits, run_agent
from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.messages import Completion, Message, Sampling, ToolCall, Usage
from agentforge.runtime.parsing import parse_hermes
from agentforge.runtime.tools import Toolbox, tool
from agentforge.runtime.trajectory import Step, Trajectory, load_jsonl, save_jsonl


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def turn(text: str, tokens: int = 5) -> Completion:
    parsed = parse_hermes(text)
    return Completion(
        text=text,
        content=parsed.content,
        tool_calls=parsed.tool_calls,
        parse_errors=[e.message for e in parsed.errors],
        usage=Usage(prompt_tokens=10, completion_tokens=tokens),
        token_ids=list(range(tokens)),
    )


CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'


class Scripted:
    """Replays completions in order; an Exception in the script is raised."""

    name = "scripted"

    def __init__(self, script, delay: float = 0.0):
        self.script, self.delay, self.seen = list(script), delay, []

    async def complete(self, messages, tools=None, n=1, sampling=None):
        self.seen.append((list(messages), sampling))
        if self.delay:
            await asyncio.sleep(self.delay)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return [item]

    async def aclose(self):
        pass


async def test_tool_call_then_final_answer(tmp_path):
    backend = Scripted([turn(CALL), turn("The answer is 5.")])
    path = tmp_path / "t.jsonl"
    traj = await run_agent(backend, [Message.user("2+3?")], Toolbox([add]), task_id="t1", save_to=path)
    assert traj.status == "done" and len(traj.steps) == 2
    assert [m.role for m in traj.messages] == ["user", "assistant", "tool", "assistant"]
    assert traj.messages[2].content == "5" and traj.messages[2].tool_call_id == traj.messages[1].tool_calls[0].id
    assert traj.final_answer == "The answer is 5."
    assert traj.generated_tokens == 10
    assert Trajectory.load(path) == traj


async def test_format_errors_and_bad_arguments_are_fed_back():
    bad_json = '<tool_call>\n{"name": "add", "arguments": {"a": 2,, }\n</tool_call>'
    wrong_args = '<tool_call>\n{"name": "add", "arguments": {"a": "two"}}\n</tool_call>'
    unknown = '<tool_call>\n{"name": "mul", "arguments": {}}\n</tool_call>'
    backend = Scripted([turn(bad_json), turn(wrong_args), turn(unknown), turn("done")])
    traj = await run_agent(backend, [Message.user("2+3?")], Toolbox([add]))
    assert traj.status == "done" and len(traj.steps) == 4
    feedback = [o.content for s in traj.steps[:3] for o in s.observations]
    assert "could not be parsed" in feedback[0]
    assert feedback[1].startswith("Error") and "a" in feedback[1] and "b" in feedback[1]
    assert "unknown tool" in feedback[2] and "add" in feedback[2]


async def test_step_token_and_time_limits():
    looping = lambda n: Scripted([turn(CALL)] * n)  # noqa: E731
    traj = await run_agent(looping(10), [Message.user("x")], Toolbox([add]), limits=Limits(max_steps=3))
    assert traj.status == "step_limit" and len(traj.steps) == 3

    backend = looping(10)
    traj = await run_agent(backend, [Message.user("x")], Toolbox([add]), limits=Limits(max_tokens=12))
    assert traj.status == "token_limit" and traj.generated_tokens == 15
    # the per-call budget shrinks to what is left of the episode's budget
    assert [s.max_tokens for _, s in backend.seen] == [12, 7, 2]

    slow = Scripted([turn(CALL)] * 10, delay=0.2)
    started = time.monotonic()
    traj = await run_agent(slow, [Message.user("x")], Toolbox([add]), limits=Limits(max_seconds=0.5))
    assert traj.status == "time_limit" and time.monotonic() - started < 1.5


async def test_backend_error_ends_the_episode_with_a_recorded_error(tmp_path):
    backend = Scripted([turn(CALL), BackendError("upstream said 401: check your API key")])
    traj = await run_agent(backend, [Message.user("x")], Toolbox([add]), save_to=tmp_path / "t.jsonl")
    assert traj.status == "error" and "401" in traj.error and len(traj.steps) == 1
    assert Trajectory.load(tmp_path / "t.jsonl").status == "error"


async def test_forced_tool_choice_resets_after_the_first_call():
    backend = Scripted([turn(CALL), turn("5")])
    await run_agent(backend, [Message.user("x")], Toolbox([add]), sampling=Sampling(tool_choice="required"))
    assert [s.tool_choice for _, s in backend.seen] == ["required", "auto"]


async def test_trajectory_saved_after_every_step(tmp_path):
    path = tmp_path / "t.jsonl"
    sizes = []
    backend = Scripted([turn(CALL), turn(CALL), turn("5")])
    await run_agent(
        backend, [Message.user("x")], Toolbox([add]), save_to=path,
        on_step=lambda traj, step: sizes.append(len(Trajectory.load(path).steps)),
    )
    assert sizes == [1, 2, 3]


async def test_hundreds_of_episodes_share_one_event_loop():
    async def episode(i):
        backend = Scripted([turn(CALL), turn(CALL), turn(f"answer {i}")], delay=0.05)
        return await run_agent(backend, [Message.user(str(i))], Toolbox([add]), task_id=str(i))

    started = time.monotonic()
    trajs = await asyncio.gather(*(episode(i) for i in range(500)))
    assert all(t.status == "done" and len(t.steps) == 3 for t in trajs)
    assert [t.final_answer for t in trajs] == [f"answer {i}" for i in range(500)]
    assert time.monotonic() - started < 10  # concurrent: 500 x 3 x 50 ms would be 75 s serially


def test_jsonl_round_trip_and_clear_errors(tmp_path):
    call = ToolCall.make("add", {"a": 1, "b": 2})
    t = Trajectory(task_id="a", messages=[Message.user("hi"), Message(role="assistant", tool_calls=[call])])
    t.steps.append(Step(completion=turn(CALL), reward=0.5))
    save_jsonl(tmp_path / "all.jsonl", [t, t])
    assert load_jsonl(tmp_path / "all.jsonl") == [t, t]
    (tmp_path / "bad.jsonl").write_text(json.dumps({"task_id": 3, "status": "nope"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_jsonl(tmp_path / "bad.jsonl")


@pytest.mark.model
async def test_real_episode_on_the_embedded_model(embedded, tmp_path):
    """End to end: real model, real tools, trajectory on disk with token ids."""
    traj = await run_agent(
        embedded,
        [Message.user("What is 2 plus 3? Use the add tool.")],
        Toolbox([add]),
        sampling=Sampling(temperature=0, max_tokens=40, tool_choice="required"),
        limits=Limits(max_steps=3),
        save_to=tmp_path / "episode.jsonl",
    )
    assert traj.status in ("done", "step_limit")
    assert traj.steps and all(s.completion.token_ids for s in traj.steps)
    first = traj.steps[0]
    assert first.completion.text.startswith("<tool_call>")
    assert first.observations  # a tool result or format feedback came back
    assert Trajectory.load(tmp_path / "episode.jsonl") == traj


def test_format_help_example_is_a_valid_call_of_a_real_tool():
    from agentforge.runtime.agent import format_help

    help_text = format_help(Toolbox([add]))
    [call] = parse_hermes(help_text).tool_calls
    assert call.name == "add" and call.parsed_arguments() == {"a": 0, "b": 0}
