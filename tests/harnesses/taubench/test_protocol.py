"""τ-bench harness: the official protocol, scoring and termination, offline (scripted LLMs, real tau2 code).

The agent and user are test doubles (tests/harnesses/taubench/scripted.py:
no model can be made to replay gold actions); the orchestrator, environment,
DBs, prompts and evaluator are the official package's.
"""

from __future__ import annotations

import json
import random

import pytest

from agentforge.harnesses.taubench import package
from agentforge.harnesses.taubench.bench import TauConfig, trial_seeds
from agentforge.harnesses.taubench.official import grade
from agentforge.runtime.backends.base import BackendError
from agentforge.selectors.best_of_n import BestOfN

from tests.fakes.scripted_backend import ScriptedBackend
from tests.harnesses.taubench.conftest import records, run_tau, simulation
from tests.harnesses.taubench.scripted import apologizing_agent, gold_agent, scripted_user, task_of


def test_gold_actions_score_one_and_a_missing_write_scores_zero(tmp_path, retail_tasks):
    tasks = retail_tasks[:3]
    summary = run_tau(tmp_path / "gold", gold_agent(tasks), scripted_user(tasks), limit=3)
    assert summary["avg_reward"] == {"retail": 1.0} and summary["terminations"] == {"user_stop": 3}
    # Task 0 ends with an exchange (a write): without it the DB differs from the gold one.
    summary = run_tau(tmp_path / "short", gold_agent(tasks, drop_last=True), scripted_user(tasks), limit=1)
    rec = records(tmp_path / "short")[0]
    assert rec["detail"]["db_match"] is False and rec["detail"]["reward"] == 0.0 and rec["correct"] is False


def test_official_greeting_prompts_and_tools_reach_the_models(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]
    seen = {}

    def agent_reply(messages, tools, index):
        seen.setdefault("agent", (messages, tools))
        return "Your request is complete.", []

    user = scripted_user(tasks)
    run_tau(tmp_path, ScriptedBackend(agent_reply, name="agent"), user, limit=1)
    sim = simulation(tmp_path, records(tmp_path)[0])
    assert sim["messages"][0]["role"] == "assistant" and sim["messages"][0]["content"] == "Hi! How can I help you today?"

    from tau2.agent.llm_agent import AGENT_INSTRUCTION
    from tau2.user.user_simulator import get_global_user_sim_guidelines

    messages, tools = seen["agent"]
    env = package.new_environment("retail")
    assert messages[0].role == "system" and AGENT_INSTRUCTION in messages[0].content
    assert env.get_policy() in messages[0].content
    assert [m.content for m in messages[1:3]] == ["Hi! How can I help you today?",
                                                 "Hello, I am calling about request 0."]
    assert sorted(t.function.name for t in tools) == sorted(t.name for t in env.get_tools())
    # The user model saw the official guidelines and the task's scenario, with the roles flipped.
    sampling_seeds = {s.seed for _, s in user.requests}
    assert sampling_seeds == {trial_seeds(300, 1)[0]}
    assert all(s.temperature == 0.0 for _, s in user.requests)
    system = user.seen[0][0]
    assert system.role == "system" and get_global_user_sim_guidelines() in system.content
    assert f"<scenario>\n{tasks[0].user_scenario}\n</scenario>" in system.content
    # Flipped: the agent's greeting is the user model's "user" turn.
    assert [(m.role, m.content) for m in user.seen[0][1:]] == [("user", "Hi! How can I help you today?")]


def test_trial_seeds_are_the_official_scheme():
    random.seed(300)
    assert trial_seeds(300, 4) == [random.randint(0, 1_000_000) for _ in range(4)]
    assert trial_seeds(300, 2) == trial_seeds(300, 4)[:2]  # more trials later keep the first ones


def test_the_agent_cannot_end_the_episode(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]

    def agent_reply(messages, tools, index):
        return "###STOP###", []

    def user_says(task_id, turn):
        return "Are you still there?" if turn < 3 else "###STOP###"

    run_tau(tmp_path, ScriptedBackend(agent_reply, name="stopper"), scripted_user(tasks, user_says), limit=1)
    rec = records(tmp_path)[0]
    sim = simulation(tmp_path, rec)
    assert rec["detail"]["termination"] == "user_stop"
    assert [m["content"] for m in sim["messages"] if m["role"] == "assistant"].count("###STOP###") == 3


def test_max_steps_scores_zero_and_marks_the_run_custom(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]
    summary = run_tau(tmp_path, gold_agent(tasks), scripted_user(tasks), limit=1, max_steps=4)
    rec = records(tmp_path)[0]
    assert rec["detail"]["termination"] == "max_steps" and rec["detail"]["reward"] == 0.0
    assert "custom (max_steps 4)" in summary["title"]


def test_too_many_tool_errors_score_zero(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]

    def agent_reply(messages, tools, index):
        return "", [("get_order_details", {"order_id": "#W0000000"})]  # no such order: an error each time

    run_tau(tmp_path, ScriptedBackend(agent_reply, name="erring"), scripted_user(tasks), limit=1)
    rec = records(tmp_path)[0]
    sim = simulation(tmp_path, rec)
    assert rec["detail"]["termination"] == "too_many_errors" and rec["detail"]["reward"] == 0.0
    assert sum(m["role"] == "tool" and m["error"] for m in sim["messages"]) == package.OFFICIAL_MAX_ERRORS


def test_a_tampered_tool_output_is_rejected(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]
    run_tau(tmp_path, gold_agent(tasks), scripted_user(tasks), limit=1)
    from tau2.data_model.simulation import SimulationRun

    path = tmp_path / records(tmp_path)[0]["trajectory"]
    run = SimulationRun.model_validate_json(path.read_text())
    assert grade("retail", tasks[0], run).reward == 1.0
    tool = next(m for m in run.messages if m.role == "tool" and m.content.startswith("{"))  # the order details
    payload = json.loads(tool.content)
    payload["status"] = "cancelled" if payload["status"] != "cancelled" else "delivered"
    tool.content = json.dumps(payload)
    with pytest.raises(ValueError):
        grade("retail", tasks[0], run)


def test_best_of_n_never_runs_a_discarded_write(tmp_path, retail_tasks):
    """Of 4 candidates for each agent turn, one changes the user's address (a write); vote picks the gold
    call. Had the discarded write reached the environment, the DB would not match the gold one."""
    tasks = retail_tasks[:1]
    gold = gold_agent(tasks)

    def reply(messages, tools, index):
        text, calls = gold.reply(messages, tools, index)
        if index == 0 and calls:
            return "", [("modify_user_address", {"user_id": "yusuf_rossi_9620", "address1": "1 Evil St",
                                                 "address2": "", "city": "X", "state": "CA", "country": "USA",
                                                 "zip": "00000"})]
        return text, calls

    agent = BestOfN(ScriptedBackend(reply, name="inner"), 4, "vote")
    run_tau(tmp_path, agent, scripted_user(tasks), limit=1)
    rec = records(tmp_path)[0]
    sim = simulation(tmp_path, rec)
    called = [c["name"] for m in sim["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert "modify_user_address" not in called and rec["detail"]["reward"] == 1.0


def test_a_model_that_fails_for_good_ends_as_agent_error(tmp_path, retail_tasks):
    tasks = retail_tasks[:2]

    def broken(messages, tools, index):
        raise BackendError("the upstream said 404: no such model")

    summary = run_tau(tmp_path, ScriptedBackend(broken, name="broken"), scripted_user(tasks), limit=2)
    recs = records(tmp_path)
    assert [r["detail"]["termination"] for r in recs] == ["agent_error", "agent_error"]
    assert all(r["detail"]["reward"] == 0.0 and "404" in r["detail"]["model_error"] for r in recs)
    from agentforge.harnesses.taubench.bench import HARNESS

    assert "model error" in HARNESS.unusable(summary)


def test_do_nothing_agent_is_graded_by_the_official_rules(tmp_path, retail_tasks):
    """The apologizing agent changes nothing: it passes exactly the tasks whose gold actions change no DB and
    that ask nothing to be communicated (checked here against the gold DB, independently of the grader)."""
    ids = ["9", "10", "11", "12"]
    tasks = [t for t in retail_tasks if t.id in ids]
    run_tau(tmp_path, apologizing_agent(), scripted_user(tasks), task_ids=ids)
    verdicts = []
    for rec in records(tmp_path):
        task = next(t for t in tasks if f"retail/{t.id}" == rec["task_id"])
        env = package.new_environment("retail")
        before = env.get_db_hash()
        for action in task.evaluation_criteria.actions or []:
            try:  # some gold actions fail (retail 2-4 name a product that does not exist); tau2 skips them too
                env.make_tool_call(action.name, requestor=action.requestor, **action.arguments)
            except ValueError:
                pass
        expected = env.get_db_hash() == before and not (task.evaluation_criteria.communicate_info or [])
        assert rec["correct"] is expected, rec["task_id"]
        verdicts.append(expected)
    assert set(verdicts) == {True, False}  # both kinds of task are among these four


def test_config_rejects_a_missing_user_model_and_unknown_domains():
    from agentforge.harnesses.taubench.bench import check_config

    with pytest.raises(ValueError, match="--user-model"):
        check_config(TauConfig(user_model=""))
    with pytest.raises(ValueError, match="unknown τ-bench domain"):
        check_config(TauConfig(user_model="x", domains=["banking"]))


def test_scripted_doubles_name_the_task(retail_tasks):
    from agentforge.runtime.messages import Message

    assert task_of([Message(role="user", content="Hello, I am calling about request 17.")]) == "17"


def test_a_simulation_past_its_time_limit_is_an_error_and_leaves_no_thread_behind(tmp_path, retail_tasks):
    import asyncio
    import threading
    import time

    from agentforge.runtime.messages import Completion

    class Stuck:
        name = "stuck"

        async def complete(self, messages, tools=None, n=1, sampling=None):
            await asyncio.sleep(3600)
            return [Completion(text="never")]

        async def aclose(self):
            pass

    tasks = retail_tasks[:1]
    started = time.monotonic()
    run_tau(tmp_path, Stuck(), scripted_user(tasks), limit=1, task_timeout=2.0, retries=0)
    rec = records(tmp_path)[0]
    assert rec["status"] == "error" and time.monotonic() - started < 60
    deadline = time.monotonic() + 10
    while any(t.name.startswith("tau2-sim") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(t.name.startswith("tau2-sim") for t in threading.enumerate())


def test_task_ids_pick_official_tasks_and_an_unknown_id_is_refused():
    from agentforge.harnesses.taubench.bench import load_tasks

    both = TauConfig(user_model="x", domains=["retail", "airline"], task_ids=["retail/3", "7"])
    assert [t.id for t in load_tasks(both)] == ["retail/3", "retail/7", "airline/7"]
    with pytest.raises(ValueError, match="no task retail/999"):
        load_tasks(TauConfig(user_model="x", domains=["retail"], task_ids=["retail/999"]))
    train = load_tasks(TauConfig(user_model="x", domains=["retail"], split="train"))
    test = load_tasks(TauConfig(user_model="x", domains=["retail"], split="test"))
    assert (len(train), len(test)) == (74, 40) and not {t.id for t in train} & {t.id for t in test}


def test_a_trial_that_crashes_is_its_own_error_and_its_siblings_keep_their_results(tmp_path, retail_tasks):
    tasks = retail_tasks[:1]
    seeds = trial_seeds(300, 2)
    agent = gold_agent(tasks)
    original = agent.complete

    async def complete(messages, tools=None, n=1, sampling=None):
        if sampling is not None and sampling.seed == seeds[1]:
            raise RuntimeError("a bug in one trial")
        return await original(messages, tools, n, sampling)

    agent.complete = complete
    run_tau(tmp_path, agent, scripted_user(tasks), limit=1, n=2)
    by_sample = {r["sample"]: r for r in records(tmp_path)}
    assert by_sample[0]["status"] == "ok" and by_sample[0]["correct"] is True
    assert by_sample[1]["status"] == "error" and "a bug in one trial" in by_sample[1]["error"]
