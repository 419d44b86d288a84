"""Writing one episode: a scripted conversation whose tool results are real.

A scenario drives an `Episode`: it adds user turns, makes calls (executed at
once on the environment, so the tool messages are the real outputs, errors
included) and reads the results back to decide the next step, as the model
would have to. The scripted assistant only uses what the conversation shows.
"""

from __future__ import annotations

import json
import random
from typing import Any

from agentforge.training.synth.tools.episodes.base import ToolEnv

# Extra system prompts; most episodes use the template's default system.
_SYSTEMS = (
    "You are a helpful assistant. Use the tools when they help, and answer briefly.",
    "You are an assistant that acts on the user's behalf through the provided functions.",
    "Call functions to get facts; never invent results.",
)


class Episode:
    def __init__(self, env: ToolEnv, rng: random.Random, offer: list[str], others: bool = True) -> None:
        """`offer`: tool keys the scenario needs; unless `others` is false, up to two more of the env's
        tools join them (a choice to make, while the schemas stay a small part of a compact episode)."""
        self.env, self.rng = env, rng
        self.initial = env.snapshot()
        tools = env.tools()
        others = [k for k in sorted(tools) if k not in offer]
        extra = (rng.choice((0, 1, 1, 2)) if len(offer) == 1 else rng.choice((0, 1))) if others else 0
        keys = list(offer) + rng.sample(others, min(extra, len(others)))
        rng.shuffle(keys)
        self.names = {k: rng.choice(tools[k].names) for k in keys}
        self.tools = [tools[k].schema(self.names[k]) for k in keys]
        self.messages: list[dict[str, Any]] = []
        if rng.random() < 0.25:
            self.messages.append({"role": "system", "content": rng.choice(_SYSTEMS)})
        self._ids = 0
        self.errors = 0

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def say(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text})

    def call(self, *calls: tuple[str, dict]) -> list[dict]:
        """One assistant turn of (tool key, arguments) calls, run in order; the parsed results."""
        turn, answers, results = [], [], []
        for key, args in calls:
            if key not in self.names:
                raise KeyError(f"scenario calls {key!r}, which it did not offer")
            call_id = f"call_{self._ids}"
            self._ids += 1
            text = json.dumps(args, ensure_ascii=False)
            out = self.env.execute(self.names[key], text)
            turn.append({"id": call_id, "type": "function", "function": {"name": self.names[key], "arguments": text}})
            answers.append({"role": "tool", "tool_call_id": call_id, "content": out})
            result = json.loads(out)
            self.errors += isinstance(result, dict) and "error" in result
            results.append(result)
        self.messages.append({"role": "assistant", "content": "", "tool_calls": turn})
        self.messages.extend(answers)
        return results

    def one(self, key: str, args: dict) -> dict:
        return self.call((key, args))[0]

    def record(self, scenario: str) -> dict:
        parallel = any(len(m.get("tool_calls", ())) > 1 for m in self.messages)
        users = sum(m["role"] == "user" for m in self.messages)
        return {
            "messages": self.messages,
            "tools": self.tools,
            "meta": {
                "source": "episode",
                "shape": "multi_turn",
                "env": self.env.NAME,
                "family": f"{self.env.NAME}.{scenario}",
                "scenario": scenario,
                "errors": self.errors,
                "parallel": parallel,
                "user_turns": users,
                "initial_state": self.initial,
            },
        }


def failed(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result
