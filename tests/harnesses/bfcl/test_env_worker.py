"""Multi-turn tools run in a worker process: a call that computes for ever is
stopped, the harness stays responsive, the state stays the official one, and
neither scoring nor a resumed run runs the call again.

The model is the scripted test double (tests/fakes/scripted_backend.py): only
a model that makes known calls can make the abusive call on purpose. The
backends and the harness are the real ones. The first two tests use only what
existed before the worker, so that they show the freeze on the old code."""

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from agentforge.harnesses.bfcl import bench
from agentforge.harnesses.bfcl.bench import BfclConfig, run_bfcl
from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
from agentforge.harnesses.bfcl.multi_turn_check import answer_calls as answer_calls_in, check_multi_turn
from agentforge.harnesses.journal import Journal
from agentforge.harnesses.runner import Task
from tests.fakes.scripted_backend import ScriptedBackend

POWER = {"base": 7, "exponent": 30000000}  # 30+ s of one bytecode holding the GIL (the adversarial review's call)
ENTRY = "multi_turn_base_15"  # GorillaFileSystem + MathAPI
CALL_TIMEOUT_ENV = "AGENTFORGE_BFCL_CALL_TIMEOUT"


def stopped(why):
    return f"Error during execution: the call was stopped ({why}); it changed nothing"


def entry_and_answer(entry_id=ENTRY, category="multi_turn_base"):
    entry = next(e for e in load_entries(category) if e["id"] == entry_id)
    return entry, load_answers(category)[entry_id]


def answer_calls(entry, sources):
    return answer_calls_in(MultiTurnEnv(entry), sources)


class Ticker:
    """Timestamps of a coroutine that wakes every 20 ms: gaps show a frozen event loop."""

    def __init__(self):
        self.ticks = [time.monotonic()]

    async def run(self):
        while True:
            await asyncio.sleep(0.02)
            self.ticks.append(time.monotonic())

    def longest_gap(self, start, end):
        inside = [t for t in self.ticks if start <= t <= end] + [end]
        before = max((t for t in self.ticks if t < start), default=start)
        return max(b - a for a, b in zip([before] + inside, inside))


async def test_power_7_30000000_is_stopped_the_loop_keeps_running_and_resume_does_not_run_it_again(
        tmp_path, monkeypatch):
    monkeypatch.setenv(CALL_TIMEOUT_ENV, "3")
    entry, answer = entry_and_answer()
    monkeypatch.setattr(bench, "load_tasks", lambda config: [Task(id=ENTRY, category="multi_turn_base",
                                                                   data=(entry, answer))])
    turn_of = {msgs[-1]["content"]: t for t, msgs in enumerate(entry["question"])}
    asked: list[float] = []  # when the model was asked for each reply

    def reply(messages, tools, index):
        asked.append(time.monotonic())
        tool_replies = 0
        for m in reversed(messages):
            if m.role != "tool":
                break
            tool_replies += 1
        last_user = next(m for m in reversed(messages) if m.role == "user")
        t = turn_of[last_user.content]
        after_power = messages[-1].role == "tool" and messages[-1].name == "power"
        if t == 0 and len(asked) == 1:
            return ("", [("power", POWER)])  # first, the abusive call
        if tool_replies and not after_power:
            return ("Done.", [])
        return ("", [(c["name"], c["arguments"]) for c in answer_calls(entry, answer[t])])

    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    try:
        config = BfclConfig(model="scripted", categories=["multi_turn_base"], n=1, limit=1)
        stats, _ = await run_bfcl(config, tmp_path, backend=ScriptedBackend(reply, raw_text=True), progress=False)
    finally:
        ticking.cancel()

    # The power call ran between the first and the second request to the model.
    frozen = ticker.longest_gap(asked[0], asked[1])
    assert frozen < 2, f"the event loop froze for {frozen:.1f} s while the call ran"
    stopped_in = asked[1] - asked[0]
    assert stopped_in < 30, f"the stopped call took {stopped_in:.1f} s to come back"
    (record,) = Journal(tmp_path / "journal.jsonl").load().values()
    expected = stopped("it ran longer than 3 s")
    assert record.status == "ok" and stats.errors == 0
    assert record.output[0][0] == [{"name": "power", "arguments": POWER, "stopped": expected}]
    trajectory = json.loads((tmp_path / record.trajectory).read_text())
    assert trajectory["messages"][2]["role"] == "tool" and trajectory["messages"][2]["content"] == expected
    # The stopped call changed nothing, so the gold calls that followed pass the state checks.
    assert record.correct, record.detail

    # Resuming finds the episode done: the model is not asked again, nothing runs again.
    def never(messages, tools, index):
        raise AssertionError("a resumed run replayed the episode")

    await run_bfcl(config, tmp_path, backend=ScriptedBackend(never, raw_text=True), progress=False)
    assert list(Journal(tmp_path / "journal.jsonl").load().values()) == [record]


def child_processes() -> set[int]:
    return {int(pid) for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()}


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads child processes from Linux's /proc")
async def test_the_task_timeout_fires_during_a_call_that_computes_for_ever(tmp_path, monkeypatch):
    monkeypatch.setenv(CALL_TIMEOUT_ENV, "600")  # the call's own limit is not what stops it here
    entry, answer = entry_and_answer()
    monkeypatch.setattr(bench, "load_tasks", lambda config: [Task(id=ENTRY, category="multi_turn_base",
                                                                   data=(entry, answer))])
    before = child_processes()
    config = BfclConfig(model="scripted", categories=["multi_turn_base"], n=1, limit=1, task_timeout=3, retries=0)
    started = time.monotonic()
    stats, _ = await run_bfcl(config, tmp_path, backend=ScriptedBackend(lambda m, t, i: ("", [("power", POWER)]), raw_text=True),
                              progress=False)
    took = time.monotonic() - started
    (record,) = Journal(tmp_path / "journal.jsonl").load().values()
    assert record.status == "error" and record.error == "timed out after 3 s" and stats.errors == 1
    assert took < 25, f"the 3 s task timeout fired after {took:.1f} s"
    assert child_processes() <= before, "the timed-out episode left its worker running"


def test_the_checker_takes_a_stopped_calls_result_and_never_runs_it():
    entry, answer = entry_and_answer()
    turns = [[answer_calls(entry, sources)] if sources else [] for sources in answer]
    assert check_multi_turn(entry, turns, answer).valid
    started = time.monotonic()
    with_power = json.loads(json.dumps(turns))
    with_power[0].insert(0, [{"name": "power", "arguments": POWER, "stopped": stopped("it ran longer than 2 s")}])
    assert check_multi_turn(entry, with_power, answer).valid
    assert time.monotonic() - started < 10, "the checker ran the stopped call"
    # A stopped call changed nothing: the file a stopped touch() would have made is missing.
    touched = json.loads(json.dumps(turns))
    touched[0][0][0]["stopped"] = stopped("it ran longer than 2 s")
    verdict = check_multi_turn(entry, touched, answer)
    assert verdict.error_type == "multi_turn:instance_state_mismatch", verdict


async def test_a_stopped_call_changes_nothing_and_the_state_carries_on_as_in_process():
    from agentforge.harnesses.bfcl.env_worker import EnvWorker

    entry, answer = entry_and_answer()
    calls = [c for sources in answer for c in answer_calls(entry, sources)]
    reference = MultiTurnEnv(entry)
    expected = [reference.execute(c["name"], c["arguments"]) for c in calls]
    async with EnvWorker(MultiTurnEnv(entry), timeout=2) as worker:
        got = []
        for i, call in enumerate(calls):
            if i in (1, 3):  # stopped twice: each time a fresh worker replays what had finished
                outcome = await worker.execute("power", POWER)
                assert outcome.stopped and outcome.result == stopped("it ran longer than 2 s")
            outcome = await worker.execute(call["name"], call["arguments"])
            assert not outcome.stopped
            got.append(outcome.result)
        assert got == expected
        assert await worker.state() == reference.state()


async def test_a_worker_killed_mid_call_is_replaced_and_the_call_is_stopped():
    from agentforge.harnesses.bfcl.env_worker import EnvWorker

    entry, _ = entry_and_answer()
    async with EnvWorker(MultiTurnEnv(entry), timeout=600) as worker:
        assert (await worker.execute("touch", {"file_name": "kept.txt"})).result == "None"
        pid = worker.pid
        call = asyncio.create_task(worker.execute("power", POWER))
        os.kill(pid, signal.SIGKILL)
        outcome = await asyncio.wait_for(call, 60)
        assert outcome.stopped and outcome.result == stopped("the tool process died with exit code -9")
        listing = await worker.execute("ls", {})
        assert worker.pid != pid and json.loads(listing.result)["current_directory_content"] == ["kept.txt"]


async def test_a_cancelled_episode_leaves_no_worker_behind():
    # The runner's task timeout cancels the episode; the call in flight dies with it.
    from agentforge.harnesses.bfcl.env_worker import EnvWorker

    entry, _ = entry_and_answer()
    worker = EnvWorker(MultiTurnEnv(entry), timeout=600)
    started = asyncio.Event()

    async def episode():
        async with worker:
            await worker.execute("touch", {"file_name": "a.txt"})
            started.set()
            await worker.execute("power", POWER)

    task = asyncio.create_task(episode())
    await started.wait()
    pid = worker.pid
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                                      "multi_turn_long_context"])
async def test_results_and_state_are_those_of_the_in_process_environment(category):
    from agentforge.harnesses.bfcl.env_worker import EnvWorker

    entry = load_entries(category)[1]
    calls = [c for sources in load_answers(category)[entry["id"]] for c in answer_calls(entry, sources)]
    calls.insert(1, {"name": "no_such_tool", "arguments": {"x": "ls()"}})  # an error, through the text round trip
    reference = MultiTurnEnv(entry)
    async with EnvWorker(MultiTurnEnv(entry)) as worker:
        for call in calls:
            assert (await worker.execute(call["name"], call["arguments"])).result == \
                reference.execute(call["name"], call["arguments"])
        assert await worker.state() == reference.state()


def test_the_call_time_limit_setting(monkeypatch):
    from agentforge.harnesses.bfcl.env_worker import call_timeout

    monkeypatch.delenv(CALL_TIMEOUT_ENV, raising=False)
    assert call_timeout() == 10.0
    monkeypatch.setenv(CALL_TIMEOUT_ENV, "2.5")
    assert call_timeout() == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        monkeypatch.setenv(CALL_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=f"{CALL_TIMEOUT_ENV}=.*seconds a BFCL tool call may run"):
            call_timeout()
