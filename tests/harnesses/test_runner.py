import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.harnesses.runner import RunOptions, Task, run_tasks
from agentforge.runtime.backends.base import TransientBackendError
from tests.harnesses import kill_target


def result(task_id: str, sample: int, **kw) -> SampleResult:
    return SampleResult(task_id=task_id, sample=sample, **kw)


def test_journal_keeps_last_record_and_drops_torn_line(tmp_path):
    j = Journal(tmp_path / "journal.jsonl")
    j.append([result("a", 0, correct=False, status="error"), result("a", 1, correct=True)])
    j.append([result("a", 0, correct=True)])
    with open(j.path, "ab") as f:
        f.write(b'{"task_id": "b", "sample": 0, "corr')  # a kill mid-write
    loaded = j.load()
    assert set(loaded) == {("a", 0), ("a", 1)}
    assert loaded[("a", 0)].correct is True
    j.append([result("b", 0, correct=True)])  # must not be glued to the torn line
    assert j.load()[("b", 0)].correct is True


def test_journal_can_leave_out_errors(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append([result("a", 0, status="error"), result("a", 1)])
    assert set(j.load(keep_errors=False)) == {("a", 1)}


async def test_resume_runs_only_missing_samples(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append([result("t0", 0, correct=True), result("t1", 1, correct=True)])
    asked: list[tuple[str, list[int]]] = []

    async def attempt(task, samples):
        asked.append((task.id, samples))
        return [result(task.id, s, correct=False) for s in samples]

    stats = await run_tasks([Task("t0"), Task("t1"), Task("t2")], attempt, j, RunOptions(n=2, progress=False))
    assert sorted(asked) == [("t0", [1]), ("t1", [0]), ("t2", [0, 1])]
    assert stats.skipped == 2 and stats.done == 4
    assert len(j.load()) == 6


async def test_transient_errors_are_retried_then_recorded(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    calls = {"flaky": 0, "dead": 0}

    async def attempt(task, samples):
        calls[task.id] += 1
        if task.id == "dead" or calls[task.id] < 3:
            raise TransientBackendError("503 upstream busy")
        return [result(task.id, s, correct=True) for s in samples]

    opts = RunOptions(n=1, retries=3, backoff=0.001, progress=False)
    stats = await run_tasks([Task("flaky"), Task("dead")], attempt, j, opts)
    got = j.load()
    assert calls == {"flaky": 3, "dead": 4}
    assert got[("flaky", 0)].correct is True
    assert got[("dead", 0)].status == "error" and "503" in got[("dead", 0)].error
    assert stats.retries == 2 + 3


async def test_timeouts_crashes_and_missing_samples_become_error_records(tmp_path):
    j = Journal(tmp_path / "j.jsonl")

    async def attempt(task, samples):
        if task.id == "slow":
            await asyncio.sleep(5)
        if task.id == "crash":
            raise KeyError("boom")
        return [result(task.id, samples[0], correct=True)]  # forgets the other samples

    opts = RunOptions(n=2, task_timeout=0.2, progress=False)
    await run_tasks([Task("slow"), Task("crash"), Task("partial")], attempt, j, opts)
    got = j.load()
    assert len(got) == 6
    assert "timed out" in got[("slow", 1)].error
    assert "KeyError" in got[("crash", 0)].error
    assert got[("partial", 0)].status == "ok" and got[("partial", 1)].status == "error"
    # a re-run with retry_errors only redoes the failed ones
    redone = []

    async def fine(task, samples):
        redone.extend((task.id, s) for s in samples)
        return [result(task.id, s, correct=True) for s in samples]

    await run_tasks([Task("slow"), Task("crash"), Task("partial")], fine, j,
                    RunOptions(n=2, retry_errors=True, progress=False))
    assert sorted(redone) == [("crash", 0), ("crash", 1), ("partial", 1), ("slow", 0), ("slow", 1)]
    assert all(r.status == "ok" for r in j.load().values())


async def test_concurrency_is_bounded(tmp_path):
    live = peak = 0

    async def attempt(task, samples):
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        await asyncio.sleep(0.01)
        live -= 1
        return [result(task.id, s) for s in samples]

    tasks = [Task(f"t{i}") for i in range(30)]
    await run_tasks(tasks, attempt, Journal(tmp_path / "j.jsonl"), RunOptions(concurrency=4, progress=False))
    assert peak == 4


def test_sigkilled_run_resumes_without_losing_or_double_counting(tmp_path):
    """Kill a real runner process with SIGKILL at several instants, then finish it."""
    path = tmp_path / "journal.jsonl"
    cmd = [sys.executable, str(Path(kill_target.__file__)), str(path)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    kills = 0
    for threshold in (15, 45, 75, 105, 135):  # of 180 samples: each kill lands mid-run
        proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if path.exists() and path.read_bytes().count(b"\n") >= threshold:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        proc.wait()
    counts_before = len(Journal(path).load())
    subprocess.run(cmd, env=env, check=True, timeout=60)
    lines = [json.loads(l) for l in path.read_bytes().splitlines() if l.strip().endswith(b"}")]
    keys = [(l["task_id"], l["sample"]) for l in lines]
    assert kills == 5, "a run finished before it could be killed; the test proves less than it claims"
    assert counts_before < kill_target.TASKS * kill_target.N
    assert len(keys) == len(set(keys)), "a finished sample was recorded twice"
    got = Journal(path).load()
    assert len(got) == kill_target.TASKS * kill_target.N
    for (task_id, sample), r in got.items():
        assert r.correct == kill_target.expected(task_id, sample)
