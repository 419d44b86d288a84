"""Aider's protocol end to end on a real exercise (python/bowling), its tests run in the real sandbox.

The model is a test double (tests/fakes/scripted_backend.py): no real model can be made to
answer wrong first and right second on cue, which is what the 2-try flow needs checked."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from agentforge.harnesses.aider.data import fresh_copy
from agentforge.harnesses.aider.grading import grading_sandbox, run_tests
from agentforge.harnesses.aider.protocol import AiderProtocol
from agentforge.runtime.messages import Sampling
from tests.fakes.scripted_backend import ScriptedBackend
from tests.harnesses.aider.conftest import exercise, require_toolchain

WRONG = "class BowlingGame:\n    def __init__(self):\n        pass\n\n    def roll(self, pins):\n        pass\n\n" \
        "    def score(self):\n        return 0\n"


def reference() -> str:
    return (exercise("python", "bowling").path / ".meta" / "example.py").read_text()


async def run_protocol(replies: list[str], edit_format: str, texts, tries: int = 2):
    ex = exercise("python", "bowling")
    seen: list[list] = []

    def reply(messages, tools, index):
        seen.append(list(messages))
        return replies[len(seen) - 1], []

    with tempfile.TemporaryDirectory() as tmp:
        folder = fresh_copy(ex, Path(tmp) / ex.slug)
        async with grading_sandbox(Path(tmp)) as box:
            protocol = AiderProtocol(ex, folder, ScriptedBackend(reply), texts, edit_format, Sampling(temperature=0),
                                     tries, lambda: run_tests(ex, box, asyncio.Semaphore(1)))
            outcome = await protocol.run()
    return outcome, seen


async def test_two_tries_the_second_gets_the_test_output_and_passes(texts):
    require_toolchain("python")
    outcome, seen = await run_protocol([f"bowling.py\n```\n{WRONG}```\n", f"bowling.py\n```\n{reference()}```\n"],
                                       "whole", texts)
    assert outcome.results["tests_outcomes"] == [False, True]
    assert outcome.results["num_malformed_responses"] == 0
    first, second = seen
    # try 1: Aider's system prompt, the one-shot example, the file shown whole, the docs + addendum + reminder
    assert first[0].role == "system" and first[0].content.startswith(texts.formats["whole"].main_system[:30])
    assert first[1].content == "Change the greeting to be more casual" and first[2].role == "assistant"
    chat_files = next(m for m in first if m.content.startswith(texts.files_content_prefix))
    assert "\nbowling.py\n```\nclass BowlingGame:" in chat_files.content
    assert "Use the above instructions to modify the supplied files: bowling.py" in first[-1].content
    assert first[-1].content.rstrip().endswith("including any appropriate path.")  # the format reminder
    assert "bowling_test" not in "".join(m.content for m in first)  # the model never sees the tests
    # try 2: the whole test output, cleaned, then Aider's test-failure text; try 1 is history
    assert "FAILED bowling_test.py" in second[-1].content and " in 0." not in second[-1].content
    assert "The tests are correct, don't try and change them." in second[-1].content
    assert "Fix the code in bowling.py to resolve the errors." in second[-1].content
    assert any(m.content == texts.edits_applied for m in second)
    assert "return 0" in next(m for m in second if m.content.startswith(texts.files_content_prefix)).content
    assert outcome.files["bowling.py"] == reference()


async def test_a_failed_search_block_is_reflected_and_counted_malformed(texts):
    require_toolchain("python")
    stub = (exercise("python", "bowling").path / "bowling.py").read_text()
    miss = "bowling.py\n```python\n<<<<<<< SEARCH\nclass NoSuchClass:\n=======\nx = 1\n>>>>>>> REPLACE\n```\n"
    fix = f"bowling.py\n```python\n<<<<<<< SEARCH\n{stub}=======\n{reference()}>>>>>>> REPLACE\n```\n"
    outcome, seen = await run_protocol([miss, fix], "diff", texts)
    assert outcome.results["tests_outcomes"] == [True]
    assert outcome.results["num_malformed_responses"] == 1
    assert len(seen) == 2 and "failed to match" in seen[1][-1].content
    assert seen[0][0].content.startswith(texts.formats["diff"].main_system[:30])


async def test_a_reply_without_edits_leaves_the_stub_and_both_tries_fail(texts):
    require_toolchain("python")
    outcome, seen = await run_protocol(["I am not sure what to do.", "Still not sure."], "whole", texts)
    assert outcome.results["tests_outcomes"] == [False, False]
    assert len(seen) == 2 and outcome.results["num_malformed_responses"] == 0


async def test_a_prompt_over_the_context_is_counted_and_ends_the_try(texts):
    require_toolchain("python")
    from agentforge.runtime.backends.base import ContextLengthError

    ex = exercise("python", "bowling")

    def reply(messages, tools, index):
        raise ContextLengthError("the prompt (9000 tokens) does not fit the context (8192)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = fresh_copy(ex, Path(tmp) / ex.slug)
        async with grading_sandbox(Path(tmp)) as box:
            protocol = AiderProtocol(ex, folder, ScriptedBackend(reply), texts, "whole", Sampling(), 2,
                                     lambda: run_tests(ex, box, asyncio.Semaphore(1)))
            outcome = await protocol.run()
    assert outcome.results["tests_outcomes"] == [False, False]
    assert outcome.results["num_exhausted_context_windows"] == 2


async def test_a_syntax_error_after_an_edit_is_reflected_as_a_lint_not_as_malformed(texts):
    require_toolchain("python")
    broken = "class BowlingGame:\n    def roll(self, pins)\n        pass\n"
    outcome, seen = await run_protocol([f"bowling.py\n```\n{broken}```\n", f"bowling.py\n```\n{reference()}```\n"],
                                       "whole", texts)
    assert outcome.results["tests_outcomes"] == [True]  # the lint reflection came inside try 1
    assert outcome.results["num_malformed_responses"] == 0
    assert len(seen) == 2 and "bowling.py:2: SyntaxError" in seen[1][-1].content
