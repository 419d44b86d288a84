"""Teacher mode end to end against a scripted teacher.

`TeacherDouble` is a test double: the pipeline needs a strong teacher
(Qwen3-32B class) that writes valid tools, tasks and agreeing calls, and none
can run on this machine; the embedded SmolLM2 rarely gets past step 1 (its
real run is reported with the issue, not asserted). The double answers each
step from a script and parses its own text with the real Hermes parser, as
the embedded backend does, so the filters see what a real backend returns.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.messages import Completion, Message, ToolSpec
from agentforge.runtime.parsing import parse_hermes
from agentforge.training.synth.tools import teacher_prompts as prompts
from agentforge.training.synth.tools.teacher import FILTERS, TeacherOptions, synthesize_with_teacher
from agentforge.training.synth.tools.teacher_checks import argument_problem

FORECAST = {"name": "get_forecast", "description": "Weather forecast for a city.", "parameters": {
    "type": "object", "required": ["city"], "properties": {
        "city": {"type": "string"}, "days": {"type": "integer", "default": 1},
        "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"}}}}
COURT = {"name": "book_court", "description": "Book a tennis court.", "parameters": {
    "type": "object", "required": ["club", "hour"], "properties": {
        "club": {"type": "string"}, "hour": {"type": "integer"}, "players": {"type": "array", "items": {"type": "string"}}}}}


def call(name: str, **arguments) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


class TeacherDouble:
    """Scripted teacher (see the module docstring for why a double)."""

    name = "teacher-double"

    def __init__(self, turns: dict[str, list[str]], *, tools: list | str | None = None, tasks: list | str | None = None,
                 result=lambda name, args: json.dumps({"ok": True, "name": name}), final: str = "Done: all set.",
                 fail: set[str] = frozenset()):
        self.turns, self.result, self.final, self.fail = turns, result, final, fail
        self.tools_reply = tools if isinstance(tools, str) else json.dumps(tools or [FORECAST, COURT])
        self.tasks_reply = tasks if isinstance(tasks, str) else json.dumps(
            tasks or [{"query": q, "solvable": not q.startswith("?")} for q in turns])
        self.in_flight = self.max_in_flight = 0

    async def complete(self, messages, tools=None, n=1, sampling=None) -> list[Completion]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)  # let other requests start: concurrency is observable
            texts = self._texts(messages, tools, n)
            if sampling and sampling.tool_choice == "none":  # like real backends: calls are not parsed then
                return [Completion(text=t, content=t) for t in texts]
            return [self._completion(t) for t in texts]
        finally:
            self.in_flight -= 1

    def _texts(self, messages: list[Message], tools: list[ToolSpec] | None, n: int) -> list[str]:
        system, last = messages[0].content, messages[-1]
        if system == prompts.TOOLS_SYSTEM:
            return [self.tools_reply]
        if system == prompts.TASKS_SYSTEM:
            return [self.tasks_reply]
        if system == prompts.TOOL_SYSTEM:
            fn = json.loads(last.content.split("The function:\n")[1].split("\n\n")[0])
            args = json.loads(last.content.split("these arguments:\n")[1].split("\n\n")[0])
            return [self.result(fn["name"], args)]
        assert system == prompts.ASSISTANT_SYSTEM and tools, "conversations go through the backend's tools support"
        if last.role == "tool":
            return [self.final]
        if last.content in self.fail:
            raise BackendError("teacher down")
        return self.turns[last.content][:n]

    @staticmethod
    def _completion(text: str) -> Completion:
        turn = parse_hermes(text)
        return Completion(text=text, content=turn.content, tool_calls=turn.tool_calls,
                          parse_errors=[e.message for e in turn.errors])


def run(teacher, n: int | None = None, samples: int = 3, **options) -> tuple[list[dict], dict]:
    opts = TeacherOptions(tasks_per_domain=len(teacher.turns) or 1, **options)
    return asyncio.run(synthesize_with_teacher(teacher, n if n is not None else len(teacher.turns), samples=samples,
                                               domains=["tennis and weather"], progress=False, options=opts))


def without(name: str) -> frozenset[str]:
    return FILTERS - {name}


def check_record(record: dict) -> None:
    """The shared record format (RECORDS.md): roles, ids, JSON-string arguments that fit the tools."""
    assert record["meta"]["source"] == "teacher"
    tools = {t["function"]["name"]: t for t in record["tools"]}
    msgs = [Message.model_validate(m) for m in record["messages"]]
    assert msgs[0].role == "user" and msgs[-1].role == "assistant" and msgs[-1].content and not msgs[-1].tool_calls
    open_ids: set[str] = set()
    for m in msgs:
        if m.role == "assistant" and m.tool_calls:
            open_ids = {c.id for c in m.tool_calls}
            for c in m.tool_calls:
                assert isinstance(c.function.arguments, str)
                assert argument_problem(json.loads(c.function.arguments), tools[c.name]) is None
        elif m.role == "tool":
            assert m.tool_call_id in open_ids
            json.loads(m.content)
    json.loads(json.dumps(record))


GOOD = {
    "Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3,
    "Book court at Ace club at 18h": [call("book_court", club="Ace", hour=18)] * 3,
    "Weather in Oslo and Rome": [call("get_forecast", city="Oslo") + call("get_forecast", city="Rome")] * 3,
    "Oslo weather, then a court at Ace at 9": [call("get_forecast", city="Oslo") + call("book_court", club="Ace", hour=9)] * 3,
    "?Order me a pizza": ["I can't order food; I can check weather or book courts."] * 3,
}


def test_agreeing_conversations_become_valid_records():
    teacher = TeacherDouble(GOOD)
    records, stats = run(teacher)
    assert stats["generated"] == 5 and stats["kept"] == 5 and stats["tools_generated"] == 2
    assert [r["meta"]["shape"] for r in records] == ["multiple", "multiple", "parallel", "parallel_multiple", "no_call"]
    for r in records:
        check_record(r)
    parallel = records[2]["messages"]
    assert [m["role"] for m in parallel] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m["tool_call_id"] for m in parallel[2:4]] == ["call_0", "call_1"]
    assert records[4]["messages"][1] == {"role": "assistant", "content": GOOD["?Order me a pizza"][0]}


def test_records_load_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    records, _ = run(TeacherDouble(GOOD))
    path = tmp_path / "teacher.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert len(datasets.load_dataset("json", data_files=str(path), split="train")) == 5


@pytest.mark.parametrize("bad", [
    call("get_forecast", city=7),  # wrong type
    call("get_forecast", days=2),  # required city missing
    call("get_forecast", city="Oslo", units="kelvin"),  # not in the enum
    call("get_forecast", city="Oslo", mood="happy"),  # unknown argument
    call("get_weather", city="Oslo"),  # no such tool
    '<tool_call>\n{"name": "get_forecast", "arguments": {"city": "Oslo"\n</tool_call>',  # does not parse
])
def test_format_filter_drops_malformed_calls(bad):
    teacher = TeacherDouble({"Forecast for Oslo please": [bad] * 3})
    records, stats = run(teacher)
    assert records == [] and stats["dropped_format"] == 1
    if "get_weather" not in bad and "arguments\": {\"city\": \"Oslo\"\n" not in bad:
        # the same samples agree and execute: only the format filter stands between them and the data
        kept, stats = run(TeacherDouble({"Forecast for Oslo please": [bad] * 3}), filters=without("format"))
        assert stats["kept"] == 1 and kept[0]["messages"][1]["tool_calls"][0]["function"]["arguments"] == \
            json.dumps(json.loads(bad.split("\n")[1])["arguments"])


def test_format_failures_count_against_the_majority():
    ok, bad = call("get_forecast", city="Oslo"), call("get_forecast", city=7)
    _, stats = run(TeacherDouble({"Forecast for Oslo please": [ok, bad, bad]}))
    assert stats["dropped_format"] == 1
    records, stats = run(TeacherDouble({"Forecast for Oslo please": [bad, ok, ok]}))
    assert stats["kept"] == 1 and json.loads(records[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}


def test_agreement_keeps_the_majority_call_and_drops_a_split():
    oslo, rome, paris = (call("get_forecast", city=c) for c in ("Oslo", "Rome", "Paris"))
    records, stats = run(TeacherDouble({"Forecast for Oslo please": [rome, oslo, oslo]}))
    assert stats["kept"] == 1 and '"Oslo"' in records[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    _, stats = run(TeacherDouble({"Forecast for Oslo please": [oslo, rome, paris]}))
    assert stats["dropped_disagreement"] == 1 and stats["kept"] == 0
    records, stats = run(TeacherDouble({"Forecast for Oslo please": [oslo, rome, paris]}), filters=without("agreement"))
    assert stats["kept"] == 1  # the filter is what dropped it


def test_agreement_normalizes_arguments_and_call_order():
    samples = [
        call("get_forecast", city="Oslo", days=2) + call("book_court", club="Ace", hour=9),
        call("book_court", club="ace ", hour=9) + call("get_forecast", city="oslo", days=2, units="metric"),
        call("get_forecast", city="Bergen"),
    ]
    _, stats = run(TeacherDouble({"Oslo weather for 2 days and a court at Ace at 9": samples}))
    assert stats["kept"] == 1


def test_no_call_answers_agree_and_contradicting_the_label_drops():
    text = "Sorry, I cannot order food."
    records, stats = run(TeacherDouble({"?Order me a pizza": [text, call("get_forecast", city="Oslo"), text]}))
    assert stats["kept"] == 1 and records[0]["meta"]["shape"] == "no_call"
    _, stats = run(TeacherDouble({"?Order me a pizza": [call("get_forecast", city="Rome")] * 3}))
    assert stats["dropped_disagreement"] == 1  # calls on a task its writer said no tool can do
    _, stats = run(TeacherDouble({"Forecast for Oslo please": ["Which city?"] * 3}))
    assert stats["dropped_disagreement"] == 1


def test_execution_filter_drops_results_that_are_not_json():
    teacher = TeacherDouble({"Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3},
                            result=lambda name, args: "It is sunny in Oslo.")
    records, stats = run(teacher)
    assert records == [] and stats["dropped_execution"] == 1
    records, stats = run(teacher, filters=without("execution"))
    assert stats["kept"] == 1 and records[0]["messages"][2]["content"] == "It is sunny in Oslo."


def test_error_results_are_kept_as_json():
    teacher = TeacherDouble({"Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3},
                            result=lambda name, args: '```json\n{"error": "city not found"}\n```')
    records, _ = run(teacher)
    assert records[0]["messages"][2]["content"] == '{"error": "city not found"}'


def test_final_answer_must_be_text():
    teacher = TeacherDouble({"Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3},
                            final=call("get_forecast", city="Oslo"))
    records, stats = run(teacher)
    assert records == [] and stats["dropped_format"] == 1


def test_invalid_tool_schemas_are_dropped():
    bad = [
        {"name": "no_items", "description": "x", "parameters": {"type": "object", "properties": {"a": {"type": "array"}}}},
        {"name": "bad_enum", "description": "x", "parameters": {"type": "object", "properties": {
            "a": {"type": "integer", "enum": ["one"]}}}},
        {"name": "bad_required", "description": "x", "parameters": {"type": "object", "properties": {}, "required": ["a"]}},
        {"name": "bad name!", "description": "x", "parameters": {"type": "object", "properties": {}}},
        {"name": "no_type", "description": "x", "parameters": {"type": "object", "properties": {"a": {"type": "text"}}}},
        {"type": "function", "function": FORECAST},
        FORECAST,  # twice
    ]
    teacher = TeacherDouble({"Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3}, tools=bad)
    records, stats = run(teacher)
    assert stats["tools_generated"] == 1 and stats["tools_dropped"] == 6
    assert [t["function"]["name"] for t in records[0]["tools"]] == ["get_forecast"]
    assert records[0]["meta"]["shape"] == "simple"


def test_garbage_and_failures_are_counted_never_fatal():
    records, stats = run(TeacherDouble({"q": ["x"] * 3}, tools="Sure! Here are some tools: get_weather, ..."))
    assert records == [] and stats["generated"] == 0 and stats["reasons"]["tools: no JSON"] == stats["domains_tried"] > 0
    records, stats = run(TeacherDouble({"q": ["x"] * 3}, tasks="[{'query': broken"))
    assert records == [] and stats["reasons"]["tasks: no JSON"] > 0
    records, stats = run(TeacherDouble({"q": ["x"] * 3}, tasks='{"answer": "I made the tasks!"}'))
    assert records == [] and stats["reasons"]["tasks: no list of tasks in the reply"] > 0
    _, stats = run(TeacherDouble(GOOD, tasks='{"query": "Forecast for Oslo please", "solvable": true}'), n=1)
    assert stats["kept"] == 1  # one task object instead of a list of one
    turns = dict(GOOD)
    teacher = TeacherDouble(turns, fail={"Forecast for Oslo please"})
    records, stats = run(teacher)
    assert stats["kept"] == 4 and stats["dropped_teacher_error"] == 1 and stats["teacher_errors"] == 1


def test_a_hanging_teacher_times_out():
    class Hanging(TeacherDouble):
        async def complete(self, messages, tools=None, n=1, sampling=None):
            if messages[0].content == prompts.TOOL_SYSTEM:
                await asyncio.sleep(30)
            return await super().complete(messages, tools, n, sampling)

    records, stats = run(Hanging({"Forecast for Oslo please": [call("get_forecast", city="Oslo")] * 3}), timeout_s=0.2)
    assert records == [] and stats["dropped_execution"] == 1 and stats["reasons"]["teacher error: TimeoutError"] == 1


def test_concurrency_is_bounded():
    turns = {f"Forecast for city {i}": [call("get_forecast", city=f"c{i}")] * 3 for i in range(12)}
    teacher = TeacherDouble(turns)
    records, stats = run(teacher, concurrency=3)
    assert stats["kept"] == 12 and 1 < teacher.max_in_flight <= 3


def test_n_caps_the_conversations_and_bad_input_is_refused():
    records, stats = run(TeacherDouble(GOOD), n=2)
    assert stats["generated"] == 2 and len(records) == 2
    with pytest.raises(ValueError, match="samples"):
        asyncio.run(synthesize_with_teacher(TeacherDouble(GOOD), 1, samples=0, progress=False))
    with pytest.raises(ValueError, match="domain"):
        asyncio.run(synthesize_with_teacher(TeacherDouble(GOOD), 1, domains=[" "], progress=False))
