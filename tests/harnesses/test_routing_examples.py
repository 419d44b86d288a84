"""Training examples from harness run directories, written in the real formats
(Journal lines, Trajectory files, config.json), and from real BFCL runs."""

from __future__ import annotations

import json

import pytest

from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.harnesses.routing_examples import load_examples, split_of
from agentforge.routing.policy import RoutingError
from agentforge.runtime.messages import FunctionSpec, Message, ToolSpec
from agentforge.runtime.trajectory import Trajectory

TOOLS = [ToolSpec(function=FunctionSpec(name="get_weather", description="Weather in a city."))]


def write_run(run_dir, results: dict[str, list[bool | None]], harness: str = "toy", with_tools: bool = True):
    """A run directory as a harness leaves it; None = a sample whose model call failed."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"harness": harness, "model": "m"}))
    records = []
    for task, samples in results.items():
        for i, ok in enumerate(samples):
            records.append(SampleResult(task_id=task, sample=i, category=task.split("_")[0],
                                        status="error" if ok is None else "ok", correct=bool(ok),
                                        trajectory=f"trajectories/{task}/{i}.json"))
            traj = Trajectory(task_id=task, messages=[Message.user(f"question {task}"),
                                                      Message(role="assistant", content="answer")],
                              metadata={"tools": [t.model_dump() for t in TOOLS]} if with_tools else {})
            traj.save(run_dir / "trajectories" / task / f"{i}.json")
    Journal(run_dir / "journal.jsonl").append(records)
    return run_dir


def test_pass_rates_requests_and_common_tasks(tmp_path):
    a = write_run(tmp_path / "a", {"calc_1": [True, False], "calc_2": [None, True], "chat_1": [False, False],
                                   "only_a": [True]})
    b = write_run(tmp_path / "b", {"calc_1": [False], "calc_2": [False], "chat_1": [True]})
    examples, notes = load_examples({"a": a, "b": b})
    by_id = {e.task_id: e for e in examples}
    assert sorted(by_id) == ["calc_1", "calc_2", "chat_1"] and notes["left_out"] == {"a": 1}
    assert by_id["calc_1"].outcomes == {"a": 0.5, "b": 0.0}
    assert by_id["calc_2"].outcomes == {"a": 0.5, "b": 0.0}  # a failed model call counts as a fail
    assert by_id["chat_1"].category == "chat" and by_id["chat_1"].outcomes == {"a": 0.0, "b": 1.0}
    # the request is the conversation before the first assistant message, with the recorded tools
    e = by_id["calc_1"]
    assert [m.content for m in e.messages] == ["question calc_1"] and e.tools[0].function.name == "get_weather"
    assert e.features["n_tools"] == 1 and e.features["n_messages"] == 1


def test_runs_that_cannot_be_compared_are_refused(tmp_path):
    a = write_run(tmp_path / "a", {"t_1": [True]})
    with pytest.raises(RoutingError, match="at least two"):
        load_examples({"a": a})
    with pytest.raises(RoutingError, match="no journal.jsonl"):
        load_examples({"a": a, "b": tmp_path})
    other = write_run(tmp_path / "other", {"t_1": [True]}, harness="swebench")
    with pytest.raises(RoutingError, match="different harnesses"):
        load_examples({"a": a, "b": other})
    disjoint = write_run(tmp_path / "disjoint", {"t_2": [True]})
    with pytest.raises(RoutingError, match="share no task"):
        load_examples({"a": a, "b": disjoint})
    b = write_run(tmp_path / "b", {"t_1": [False]})
    (a / "trajectories" / "t_1" / "0.json").unlink()
    with pytest.raises(RoutingError, match="no trajectory for task 't_1'"):
        load_examples({"a": a, "b": b})


def test_the_split_is_fixed_per_task_and_near_the_fraction():
    ids = [f"simple_{i}" for i in range(400)]
    first = [split_of(t) for t in ids]
    assert first == [split_of(t) for t in ids]  # deterministic
    assert 160 < first.count("test") < 240
    assert all(split_of(t, 0.0) == "train" for t in ids) and all(split_of(t, 1.0) == "test" for t in ids)


def test_bfcl_runs_rebuild_the_request_the_harness_sent(tmp_path):
    """BFCL trajectories keep only the answer; the request comes from the BFCL data
    with the run's settings, exactly as the harness built it."""
    from agentforge.harnesses.bfcl.bench import BfclConfig, load_tasks
    from agentforge.harnesses.bfcl.episodes import setup
    from agentforge.harnesses.rundir import check_run_dir

    config = BfclConfig(model="m", categories=["simple", "irrelevance"], limit=2)
    runs = {}
    for name in ("a", "b"):
        check_run_dir(tmp_path / name, config, ("model",), "bfcl")
        Journal(tmp_path / name / "journal.jsonl").append(
            SampleResult(task_id=t.id, sample=0, category=t.category, correct=name == "a") for t in load_tasks(config))
        runs[name] = tmp_path / name
    examples, _ = load_examples(runs)
    task = load_tasks(config)[0]
    expected = setup(task.data[0], task.category, "fc", task.data[0]["question"][0])
    first = next(e for e in examples if e.task_id == task.id)
    assert first.messages == expected.messages and first.tools == expected.tools
    assert len(examples) == 4 and all(e.outcomes == {"a": 1.0, "b": 0.0} for e in examples)
    shrunk = json.loads((tmp_path / "a" / "config.json").read_text())
    (tmp_path / "a" / "config.json").write_text(json.dumps({**shrunk, "limit": 1}))
    with pytest.raises(RoutingError, match="in the journal but not among the tasks its config.json describes"):
        load_examples(runs)
    (tmp_path / "a" / "config.json").write_text(json.dumps(shrunk))
    prompt = json.loads((tmp_path / "b" / "config.json").read_text())
    (tmp_path / "b" / "config.json").write_text(json.dumps({**prompt, "mode": "prompt"}))
    with pytest.raises(RoutingError, match="different modes"):
        load_examples(runs)
