"""The procedural tool-use environment: `agent train synth tools` episodes as RL tasks.

Each episode (a virtual disk, a ledger, a calendar, a shop, a tracker, a smart
home) has an initial state, the user's turns, and a scripted gold
conversation whose calls really executed. Two kinds of task come from it:

- "episode" (outcome reward): the model plays the assistant through the whole
  conversation; its calls run on a fresh copy of the initial state, and each
  time it answers in text the next user turn follows. Reward 1 iff every turn
  was well formatted, the end state equals the gold end state, and every call
  that succeeded in the gold conversation was also made (same function, same
  arguments): a read-only task is done only once its facts were fetched.
- "step" (the paper's step-wise reward): given the gold history up to an
  assistant turn, the model writes that turn. Reward 1 iff it is well formatted
  and exactly the gold turn: the same calls (function names, every argument
  and field; a parallel turn in any order), or, where the gold turn answers in
  text, a text answer with no call.

Train and validation tasks come from different seeds of the same generator,
so validation episodes are new states, values and phrasings.
"""

from __future__ import annotations

import json
import random
from typing import Any

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.sample import Rollout, Turn, turn_of

SEEDS = {"train": 7001, "valid": 7002, "test": 7003}  # test: the final SFT-vs-RL comparison only


class ToolEpisodes:
    name = "tools"

    def __init__(self, episodes: int = 200, kinds: tuple[str, ...] = ("episode", "step"), max_calls: int = 8,
                 seeds: dict[str, int] | None = None, episode_share: float = 1.0) -> None:
        """`episode_share`: the fraction of records that also give an "episode" task (each gives its
        step tasks): whole episodes cost several turns per rollout, steps one."""
        self.episodes, self.kinds, self.max_calls = episodes, kinds, max_calls
        self.seeds, self.episode_share = seeds or SEEDS, episode_share

    def tasks(self, split: str) -> list[RLTask]:
        from agentforge.training.synth.tools.episodes import generate_episodes

        records = list(generate_episodes(random.Random(self.seeds[split]), self.episodes))
        out: list[RLTask] = []
        for i, record in enumerate(records):
            if "episode" in self.kinds and int((i + 1) * self.episode_share) > int(i * self.episode_share):
                out.append(RLTask(f"{split}-{i}", "episode", {"record": record}))
            if "step" in self.kinds:
                for j, m in enumerate(record["messages"]):
                    if m["role"] == "assistant":
                        out.append(RLTask(f"{split}-{i}-step{j}", "step", {"record": record, "at": j}))
        return out

    async def rollout(self, task: RLTask, backend: Backend, n: int, sampling: Sampling) -> list[Rollout]:
        record = task.data["record"]
        if task.kind == "step":
            return await step_rollouts(task, record, task.data["at"], backend, n, sampling)
        import asyncio

        return list(await asyncio.gather(*(self._episode(task, record, backend, sampling) for _ in range(n))))

    async def _episode(self, task: RLTask, record: dict, backend: Backend, sampling: Sampling) -> Rollout:
        from agentforge.training.synth.tools.episodes import ENVS

        meta = record["meta"]
        env = ENVS[meta["env"]](meta["initial_state"])
        names = offered(record)
        script = record["messages"]
        users = [i for i, m in enumerate(script) if m["role"] == "user"]
        conversation = [Message.model_validate(m) for m in script[: users[0] + 1]]
        pending = [Message.model_validate(script[i]) for i in users[1:]]
        turns: list[Turn] = []
        calls: list[tuple[str, str]] = []  # (name, canonical arguments) of the calls that succeeded
        well_formed, truncated = True, False
        while True:
            if len(turns) >= self.max_calls:
                truncated = True
                break
            completion = (await backend.complete(conversation, tools(record), n=1, sampling=sampling))[0]
            turns.append(turn_of(completion))
            if completion.finish_reason == "length":
                truncated = True
                break
            well_formed &= not completion.parse_errors
            conversation.append(completion.message())
            for call in completion.tool_calls:
                if call.function.name not in names:
                    result = json.dumps({"error": f"unknown function '{call.function.name}'"})
                    well_formed = False
                else:
                    result = env.execute(call.function.name, call.function.arguments)
                    if not _failed(result):
                        calls.append((call.function.name, canonical_arguments(call.function.arguments)))
                conversation.append(Message.tool(result, call.id))
            if completion.tool_calls or completion.parse_errors:
                continue
            if not pending:
                break
            conversation.append(pending.pop(0))
        done = env.state == gold_end_state(record) and _covers(calls, gold_successful_calls(record))
        return Rollout(task.id, turns, float(well_formed and done and not truncated), truncated=truncated,
                       info={"kind": "episode", "calls": len(calls), "turns": len(turns), "well_formed": well_formed})


async def step_rollouts(task: RLTask, record: dict, at: int, backend: Backend, n: int,
                        sampling: Sampling) -> list[Rollout]:
    """n attempts at assistant turn `at` of `record` after its gold history, each graded by the
    step-wise reward (`step_matches`); the rollouts' info kind is the task's."""
    messages = [Message.model_validate(m) for m in record["messages"][:at]]
    completions = await backend.complete(messages, tools(record), n=n, sampling=sampling)
    gold = record["messages"][at]
    return [Rollout(task.id, [turn_of(c)], float(step_matches(c, gold, offered(record))),
                    truncated=c.finish_reason == "length", info={"kind": task.kind}) for c in completions]


def tools(record: dict) -> list[ToolSpec]:
    return [ToolSpec.model_validate(t) for t in record["tools"]]


def offered(record: dict) -> set[str]:
    return {t["function"]["name"] for t in record["tools"]}


def _normalize(value: Any) -> Any:
    """Numbers compare by value (3 == 3.0), as a JSON reader would; bools stay bools."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def canonical_arguments(arguments: str | dict) -> str:
    """One string per distinct argument object; malformed JSON maps to itself (and matches nothing valid)."""
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return "\0invalid:" + str(arguments)
    return json.dumps(_normalize(value), sort_keys=True, ensure_ascii=False)


def step_matches(completion: Completion, gold: dict, names: set[str]) -> bool:
    """The step-wise reward: the turn is well formatted and exactly the gold turn."""
    if completion.parse_errors or completion.finish_reason == "length":
        return False
    gold_calls = gold.get("tool_calls") or []
    if not gold_calls:
        return not completion.tool_calls and bool((completion.content or "").strip())
    got = sorted((c.function.name, canonical_arguments(c.function.arguments)) for c in completion.tool_calls)
    want = sorted((c["function"]["name"], canonical_arguments(c["function"]["arguments"])) for c in gold_calls)
    return got == want and all(name in names for name, _ in got)


def _failed(result: str) -> bool:
    try:
        value = json.loads(result)
    except ValueError:
        return True
    return isinstance(value, dict) and "error" in value


def _gold_calls(record: dict) -> list[dict]:
    return [c for m in record["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]


def gold_end_state(record: dict) -> dict:
    """The state after replaying the gold conversation's calls on a fresh copy."""
    from agentforge.training.synth.tools.episodes import ENVS

    env = ENVS[record["meta"]["env"]](record["meta"]["initial_state"])
    for call in _gold_calls(record):
        env.execute(call["function"]["name"], call["function"]["arguments"])
    return env.state


def gold_successful_calls(record: dict) -> list[tuple[str, str]]:
    results = {m["tool_call_id"]: m["content"] for m in record["messages"] if m["role"] == "tool"}
    return [(c["function"]["name"], canonical_arguments(c["function"]["arguments"]))
            for c in _gold_calls(record) if not _failed(results.get(c["id"], ""))]


def _covers(made: list[tuple[str, str]], needed: list[tuple[str, str]]) -> bool:
    left = list(made)
    for call in needed:
        if call not in left:
            return False
        left.remove(call)
    return True
