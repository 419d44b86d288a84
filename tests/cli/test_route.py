"""`agent route learn / eval / decide` on real BFCL run directories.

The runs come from the real BFCL harness on real BFCL entries; the models are
doubles (tests/fakes/scripted_backend.py) with known behaviour, because only
such models give outcomes a test can predict: "caller" makes the gold calls
(right on simple, wrong on irrelevance), "chatter" always answers in text
(right on irrelevance only). A router can then beat both; the oracle gets all."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentforge.cli.route import route_app
from agentforge.harnesses.bfcl.bench import BfclConfig, run_bfcl
from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.prompts import tool_name
from tests.fakes.scripted_backend import ScriptedBackend

CATEGORIES = ["simple", "irrelevance"]
LIMIT = 8


def caller_reply():
    answers = {e["question"][0][-1]["content"]: load_answers("simple").get(e["id"]) for e in load_entries("simple")}

    def reply(messages, tools, index):
        answer = answers.get(messages[-1].content)
        if answer is None:  # an irrelevance entry: calling anything is wrong
            return "", [(tools[0].function.name, {})]
        (name, params), = answer[0].items()
        return "", [(tool_name(name), {k: next(v for v in options if v != "") for k, options in params.items()
                                       if any(v != "" for v in options)})]

    return reply


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import asyncio

    root = tmp_path_factory.mktemp("runs")
    config = BfclConfig(model="scripted", categories=CATEGORIES, limit=LIMIT, n=1, selectors=["first"])
    scripts = {"caller": caller_reply(), "chatter": lambda m, t, i: ("I cannot help with that.", [])}
    for name, reply in scripts.items():
        asyncio.run(run_bfcl(config, root / name, backend=ScriptedBackend(reply, raw_text=True), progress=False))
    return root


def invoke(*args: str):
    result = CliRunner().invoke(route_app, list(args))
    return result


def test_learn_then_eval_beats_each_specialist(runs, tmp_path):
    learned = tmp_path / "learned.json"
    result = invoke("learn", "--run", f"caller={runs / 'caller'}", "--run", f"chatter={runs / 'chatter'}",
                    "--split", "all", "-o", str(learned))
    assert result.exit_code == 0, result.output
    assert "learned on 16 all tasks" in result.output and "oracle 1.000" in result.output
    model = json.loads(learned.read_text())
    assert model["training"]["pass_rate"] == {"caller": 0.5, "chatter": 0.5}
    assert model["training"]["runs"]["caller"].endswith("caller")

    result = invoke("eval", "--run", f"caller={runs / 'caller'}", "--run", f"chatter={runs / 'chatter'}",
                    "--learned", str(learned), "--split", "all", "--markdown")
    assert result.exit_code == 0, result.output
    rows = {line.split("|")[1].strip(): line for line in result.output.splitlines() if line.startswith("| ")}
    accuracy = {name: float(line.split("|")[4]) for name, line in rows.items() if name != "method"}
    assert accuracy["caller"] == accuracy["chatter"] == accuracy["random"] == 50.0
    assert accuracy["oracle"] == 100.0
    assert accuracy["learned"] > 50.0  # it tells irrelevance entries from the others


def test_eval_of_a_rule_router_file_and_decide(runs, tmp_path):
    router = tmp_path / "router.toml"
    router.write_text("""
[[specialists]]
name = "caller"
model = "embedded"
[[specialists]]
name = "chatter"
model = "embedded"
[policy]
kind = "rule"
default = "caller"
rules = [{ when = "name_overlap < 0.5 and desc_overlap < 0.2", use = "chatter" }]
""")
    result = invoke("eval", "--run", f"caller={runs / 'caller'}", "--run", f"chatter={runs / 'chatter'}",
                    "--router", str(router), "--split", "all")
    assert result.exit_code == 0, result.output
    assert "rule" in result.output and "oracle" in result.output and "random" in result.output
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "Tell me a joke"}], "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city."}}]}))
    result = invoke("decide", str(router), str(request))
    assert result.exit_code == 0, result.output
    assert "→ chatter (rule: rule 1: name_overlap < 0.5 and desc_overlap < 0.2)" in result.output
    assert "desc_overlap" in result.output  # the features table


def test_cli_errors_are_clear(runs, tmp_path):
    result = invoke("learn", "--run", f"caller={runs / 'caller'}")
    assert result.exit_code == 1 and "at least two specialists" in result.output
    result = invoke("learn", "--run", "caller", "--run", "x=y")
    assert result.exit_code == 1 and "write NAME=RUN_DIR" in result.output
    result = invoke("eval", "--run", f"caller={runs / 'caller'}", "--run", f"chatter={runs / 'chatter'}",
                    "--learned", str(tmp_path / "nope.json"), "--split", "all")
    assert result.exit_code == 1 and "no such file" in result.output
    result = invoke("eval", "--run", f"caller={runs / 'caller'}", "--run", f"chatter={runs / 'chatter'}",
                    "--split", "sideways")
    assert result.exit_code == 1 and "use train, test or all" in result.output


def test_mounted_as_agent_route():
    from agentforge.cli import app

    result = CliRunner().invoke(app, ["route", "--help"])
    assert result.exit_code == 0 and all(c in result.output for c in ("learn", "eval", "decide"))
