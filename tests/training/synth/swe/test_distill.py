"""Trajectory -> record conversion and the submit-ready filter, on trajectories built in memory
(the sandboxed end-to-end path is in test_trajectories.py)."""

from __future__ import annotations

import json

from agentforge.harnesses.journal import SampleResult
from agentforge.runtime.messages import Completion, Message, ToolCall
from agentforge.runtime.trajectory import Step, Trajectory
from agentforge.training.synth.swe.distill import record_from_trajectory, submit_ready


def tools_trajectory() -> Trajectory:
    call = ToolCall.make("str_replace_editor", {"command": "str_replace", "path": "calc.py",
                                                "old_str": "a - b", "new_str": "a + b"}, id="call_1")
    submit = ToolCall.make("bash", {"command": "echo AGENTFORGE_SUBMIT_PATCH"}, id="call_2")
    steps = [
        Step(completion=Completion(text="no call", content="I will look."), error="format error",
             observations=[Message.user("Your reply called no tool.")]),
        Step(completion=Completion(text="", content="Fix the operator.", tool_calls=[call]),
             observations=[Message.tool("Edited calc.py.", "call_1", "str_replace_editor")]),
        Step(completion=Completion(text="", content=None, tool_calls=[submit]),
             observations=[Message.tool("AGENTFORGE_SUBMIT_PATCH", "call_2", "bash")]),
    ]
    messages = [Message.system("sys"), Message.user("fix it")]
    for s in steps:
        messages += [s.completion.message(), *s.observations]
    return Trajectory(task_id="t", messages=messages, steps=steps, metadata={"action_format": "tools"})


def test_a_tools_trajectory_becomes_an_openai_shaped_record_without_its_format_errors():
    record, left_out = record_from_trajectory(tools_trajectory(), {"source": "swe-distilled"})
    assert left_out == 1
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    edit = record["messages"][2]["tool_calls"][0]
    assert edit["function"]["name"] == "str_replace_editor"
    assert json.loads(edit["function"]["arguments"])["new_str"] == "a + b"
    assert record["messages"][3] == {"role": "tool", "content": "Edited calc.py.", "tool_call_id": "call_1"}
    assert record["messages"][4]["content"] == "" and record["messages"][4]["tool_calls"][0]["id"] == "call_2"
    assert sorted(t["function"]["name"] for t in record["tools"]) == ["bash", "str_replace_editor"]
    assert record["meta"] == {"source": "swe-distilled", "action_format": "tools", "turns": 2}


def test_only_graded_resolved_submitted_patches_of_existing_files_are_submit_ready():
    patch = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n"
    ok = dict(task_id="t", sample=0, correct=True, output=patch, trajectory="trajectories/t/0.json",
              detail={"agent_status": "submitted"})
    assert submit_ready(SampleResult(**ok)) is None
    assert submit_ready(SampleResult(**ok | {"status": "error"})) == "not graded"
    assert submit_ready(SampleResult(**ok | {"correct": False})) == "not resolved"
    assert submit_ready(SampleResult(**ok | {"detail": {"agent_status": "step_limit"}})) == "not submitted (step_limit)"
    assert submit_ready(SampleResult(**ok | {"output": ""})) == "empty patch"
    scratch = patch + "diff --git a/repro.py b/repro.py\nnew file mode 100644\n--- /dev/null\n+++ b/repro.py\n"
    assert submit_ready(SampleResult(**ok | {"output": scratch})) == "adds a file"
