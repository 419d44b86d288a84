"""The BFCL harness end to end on real BFCL data, with a scripted model.

The model is a test double (tests/fakes/scripted_backend.py) because only a
model that makes known calls can show that the loop, the environment and the
scoring agree: ground-truth calls must score correct, broken ones wrong.
"""

import ast
import json

import pytest

from agentforge.harnesses.bfcl.bench import BfclConfig, load_tasks, run_bfcl
from agentforge.harnesses.rundir import RunDirMismatch
from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.prompts import tool_name
from agentforge.harnesses.journal import Journal
from tests.fakes.scripted_backend import ScriptedBackend


def first_user_text(messages) -> str:
    return next(m.content for m in messages if m.role == "user")


def gold_calls(answer: list[dict], exposed=tool_name) -> list[tuple[str, dict]]:
    calls = []
    for call in answer:
        (name, params), = call.items()
        args = {}
        for key, options in params.items():
            usable = [o for o in options if o != ""]
            if usable:
                args[key] = usable[0]
        calls.append((exposed(name), args))
    return calls


def single_turn_script(categories):
    by_question = {}
    for category in categories:
        answers = load_answers(category)
        for entry in load_entries(category):
            by_question[entry["question"][0][-1]["content"]] = (entry, answers.get(entry["id"]))

    def reply(messages, tools, index):
        entry, answer = by_question[messages[-1].content]
        if answer is None:  # irrelevance: the right answer is no call
            return ("None of the functions fit.", []) if index == 0 else ("", [(tools[0].function.name, {})])
        calls = gold_calls(answer)
        return ("", calls) if index == 0 else ("", [(name, {}) for name, _ in calls])

    return reply


async def test_single_turn_gold_calls_score_correct_and_broken_ones_wrong(tmp_path):
    config = BfclConfig(model="scripted", categories=["simple", "multiple", "parallel", "irrelevance"], n=2, limit=5)
    backend = ScriptedBackend(single_turn_script(config.categories))
    stats, summary = await run_bfcl(config, tmp_path, backend=backend, progress=False)
    records = Journal(tmp_path / "journal.jsonl").load()
    assert len(records) == 4 * 5 * 2 and stats.errors == 0
    for (task_id, sample), r in records.items():
        assert r.correct == (sample == 0), (task_id, sample, r.detail, r.output)
    assert all(n == 2 for n, _ in backend.requests), "the candidates of an entry share one request"
    cats = summary["categories"]
    assert cats["simple"]["pass@1"] == pytest.approx(0.5)
    assert cats["simple"]["selected@k"]["oracle"]["2"] == pytest.approx(1.0)
    assert cats["simple"]["pass@N"] == pytest.approx(1.0)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "trajectories").is_dir()


def _keyword_calls(turn: list[str], functions: list[dict]) -> list[tuple[str, dict]]:
    """Ground-truth call strings like "sort('a.txt')" as (name, keyword args)."""
    params = {f["name"]: list(f["parameters"]["properties"]) for f in functions}
    out = []
    for source in turn:
        call = ast.parse(source, mode="eval").body
        name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        args = {params[name][i]: ast.literal_eval(a) for i, a in enumerate(call.args)}
        args.update({k.arg: ast.literal_eval(k.value) for k in call.keywords})
        out.append((name, args))
    return out


@pytest.mark.parametrize("drop_last_turn", [False, True])
async def test_multi_turn_replaying_the_ground_truth_passes_the_state_checks(tmp_path, drop_last_turn):
    category = "multi_turn_base"
    entries = {e["id"]: e for e in load_entries(category)[:3]}
    answers = load_answers(category)
    turn_of = {}  # user text -> (entry id, turn index)
    for eid, e in entries.items():
        for t, msgs in enumerate(e["question"]):
            if msgs:
                turn_of[msgs[-1]["content"]] = (eid, t)

    def reply(messages, tools, index):
        last = messages[-1]
        if last.role == "tool":  # the turn's calls ran: finish the turn in words
            return ("Done.", [])
        eid, t = turn_of[last.content]
        if drop_last_turn and t == len(entries[eid]["question"]) - 1:
            return ("I will not do that.", [])
        return ("", _keyword_calls(answers[eid][t], entries[eid]["function"]))

    config = BfclConfig(model="scripted", categories=[category], n=1, limit=3)
    await run_bfcl(config, tmp_path, backend=ScriptedBackend(reply), progress=False)
    records = Journal(tmp_path / "journal.jsonl").load()
    assert len(records) == 3
    for r in records.values():
        assert r.correct is (not drop_last_turn), (r.task_id, r.detail)
        assert len(r.output) == len(entries[r.task_id]["question"])
        traj = json.loads((tmp_path / r.trajectory).read_text())
        assert traj["status"] == "done" and any(m["role"] == "tool" for m in traj["messages"])


async def test_a_run_dir_refuses_other_settings_and_repeated_ids_stay_distinct(tmp_path):
    config = BfclConfig(model="scripted", categories=["irrelevance"], n=1, limit=1)
    backend = ScriptedBackend(lambda m, t, i: ("no", []))
    await run_bfcl(config, tmp_path, backend=backend, progress=False)
    with pytest.raises(RunDirMismatch, match="temperature"):
        await run_bfcl(BfclConfig(model="scripted", categories=["irrelevance"], temperature=0.1, limit=1),
                       tmp_path, backend=backend, progress=False)
    ids = [t.id for t in load_tasks(BfclConfig(categories=["live_relevance"]))]
    assert len(ids) == len(set(ids)) == len(load_entries("live_relevance"))


def wait_until_listening(port: int, server, seconds: float = 60.0) -> None:
    """Poll until the stub server accepts connections (a fixed sleep flakes on a loaded machine)."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the stub server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the stub server did not listen on port {port} within {seconds:g} s")


@pytest.mark.slow
def test_agent_bench_bfcl_killed_repeatedly_resumes_without_loss_or_double_count(tmp_path):
    """SIGKILL the real CLI several times mid-run against a real HTTP server (the
    stub stands in for vLLM; it answers in plain text, so nothing calls a tool)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stub = Path(__file__).resolve().parents[2] / "fakes" / "openai_stub_server.py"
    server = subprocess.Popen([sys.executable, str(stub), "--port", str(port), "--delay", "0.05"])
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "agentforge", "bench", "bfcl", "-m", f"openai:stub@http://127.0.0.1:{port}/v1",
           "-c", "irrelevance", "--limit", "60", "-n", "2", "--concurrency", "4", "--run-dir", str(run_dir)]
    env = {**os.environ, "OPENAI_API_KEY": "x", "COLUMNS": "200"}
    journal = run_dir / "journal.jsonl"
    try:
        wait_until_listening(port, server)
        kills = 0
        for threshold in (10, 40, 70):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if journal.exists() and journal.read_bytes().count(b"\n") >= threshold:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.01)
            proc.wait()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.kill()
    assert done.returncode == 0, done.stderr[-2000:]
    assert kills == 3
    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
    keys = [(r["task_id"], r["sample"]) for r in lines]
    assert len(keys) == len(set(keys)) == 120
    assert all(r["status"] == "ok" and r["correct"] for r in lines)  # plain text is right on irrelevance
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["categories"]["irrelevance"]["pass@1"] == 1.0


def test_summary_rows_only_for_groups_that_were_run():
    from agentforge.harnesses.bfcl.bench import summary_rows
    from agentforge.harnesses.bfcl.data import GROUPS

    partial = {"simple": 0.5, "multiple": 0.25}
    assert summary_rows(partial) == {"mean of categories run": pytest.approx(0.375)}
    non_live = {c: 0.5 for c in GROUPS["non_live"]}
    rows = summary_rows(non_live)
    assert rows["non_live"] == pytest.approx(0.5) and rows["simple_ast"] == pytest.approx(0.5)
    assert "overall" not in rows and "live" not in rows
    everything = {c: 0.3 for c in GROUPS["all"]}
    assert summary_rows(everything)["overall"] == pytest.approx(0.3)


async def test_prompt_mode_puts_the_docs_in_the_system_prompt_and_scores_pythonic_calls(tmp_path):
    from agentforge.harnesses.bfcl.episodes import setup
    from agentforge.runtime.parsing import render_pythonic_calls
    from agentforge.runtime.messages import FunctionCall, ToolCall

    entry = load_entries("simple")[0]
    s = setup(entry, "simple", "prompt", entry["question"][0])
    assert s.tools is None and s.messages[0].role == "system"
    assert entry["function"][0]["name"] in s.messages[0].content and "[func_name1(" in s.messages[0].content
    answers = load_answers("simple")
    by_question = {e["question"][0][-1]["content"]: answers[e["id"]] for e in load_entries("simple")[:3]}

    def reply(messages, tools, index):
        assert tools is None
        calls = [ToolCall(function=FunctionCall(name=n, arguments=json.dumps(a)))
                 for n, a in gold_calls(by_question[messages[-1].content], exposed=str)]
        return (render_pythonic_calls(calls) if index == 0 else "I would call a function.", [])

    config = BfclConfig(model="scripted", mode="prompt", categories=["simple"], n=2, limit=3)
    stats, _ = await run_bfcl(config, tmp_path, backend=ScriptedBackend(reply), progress=False)
    records = Journal(tmp_path / "journal.jsonl").load()
    assert stats.errors == 0 and len(records) == 6
    assert [records[(t, s)].correct for t in ("simple_0", "simple_1", "simple_2") for s in (0, 1)] == [True, False] * 3


async def test_miss_func_entries_announce_held_out_functions_at_their_turn(tmp_path):
    entry = next(e for e in load_entries("multi_turn_miss_func") if e.get("missed_function"))
    (turn, held), = entry["missed_function"].items()
    seen_tools: list[set[str]] = []

    def reply(messages, tools, index):
        seen_tools.append({t.function.name for t in tools})
        return ("Done.", [])

    from agentforge.harnesses.bfcl.episodes import multi_turn
    from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
    from agentforge.runtime.messages import Sampling

    episode = await multi_turn(ScriptedBackend(reply), entry, "multi_turn_miss_func", "fc", Sampling(),
                               MultiTurnEnv(entry))
    names = {d["name"] for d in held}
    assert len(episode.turns) == len(entry["question"])
    assert all(not (names & s) for s in seen_tools[: int(turn)])
    assert all(names <= s for s in seen_tools[int(turn):])
    announce = [m for m in episode.trajectory.messages if m.role == "user"][int(turn)]
    assert "functions" in announce.content
