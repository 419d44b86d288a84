"""Problem statements: written from the failing tests, or by a teacher that must not leak the diff."""

from __future__ import annotations

from agentforge.runtime.messages import Completion
from agentforge.training.synth.swe.statement import (failure_sections, headline, leaks, teacher_messages,
                                                     teacher_statement, written_statement)

LOG = """+ : '>>>>> Start Test Output'
============================= test session starts ==============================
collected 4 items

tests/test_core.py FF.E                                                  [100%]

==================================== ERRORS ====================================
_________________________ ERROR at setup of test_setup _________________________

    @pytest.fixture
    def thing():
>       return make()
E       NameError: name 'make' is not defined

tests/test_core.py:9: NameError
=================================== FAILURES ===================================
________________________________ Test.test_add _________________________________

self = <tests.test_core.Test object at 0x7f>

    def test_add(self):
>       assert add(1, 2) == 3
E       assert -1 == 3
E        +  where -1 = add(1, 2)

tests/test_core.py:5: AssertionError
__________________________ test_chunks[size 2-3] ___________________________

    def test_chunks():
>       chunks([1, 2, 3], 2)

src/demo/core.py:12: in chunks
    return a - b
E   TypeError: unsupported operand type(s) for -: 'list' and 'int'

src/demo/core.py:12: TypeError
=========================== short test summary info ============================
FAILED tests/test_core.py::Test::test_add - assert -1 == 3
FAILED tests/test_core.py::test_chunks[size 2-3] - TypeError: unsupported
PASSED tests/test_core.py::test_other
ERROR tests/test_core.py::test_setup - NameError: name 'make' is not defined
========================= 2 failed, 1 passed, 1 error in 0.05s =========================
+ : '>>>>> End Test Output'
"""

DIFF = """diff --git a/src/demo/core.py b/src/demo/core.py
--- a/src/demo/core.py
+++ b/src/demo/core.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a + b
+    return a - b
"""


def test_headline_is_what_pytest_titles_a_failure():
    assert headline("tests/test_core.py::Test::test_add") == "Test.test_add"
    assert headline("tests/test_core.py::test_chunks[2-3]") == "test_chunks[2-3]"


def test_failure_sections_read_error_lines_and_location():
    sections = failure_sections(LOG)
    assert set(sections) == {"ERROR at setup of test_setup", "Test.test_add", "test_chunks[size 2-3]"}
    add = sections["Test.test_add"]
    assert add.errors == ["assert -1 == 3", "+  where -1 = add(1, 2)"]
    assert (add.location, add.exception) == ("tests/test_core.py", "AssertionError")
    chunks = sections["test_chunks[size 2-3]"]
    assert chunks.errors == ["TypeError: unsupported operand type(s) for -: 'list' and 'int'"]


def test_written_statement_names_tests_and_errors_but_not_the_code():
    f2p = ["tests/test_core.py::Test::test_add", "tests/test_core.py::test_chunks[size"]
    text = written_statement("demo-1__x-1", "demo.core", f2p, LOG, DIFF)
    assert text.startswith("`demo.core`: ")
    assert "- `tests/test_core.py::Test::test_add`" in text
    assert "assert -1 == 3" in text
    assert "return a - b" not in text and not leaks(text, DIFF)
    assert text == written_statement("demo-1__x-1", "demo.core", f2p, LOG, DIFF)  # deterministic


def test_written_statement_drops_error_lines_that_quote_the_diff():
    log = LOG.replace("E       assert -1 == 3", "E       return a - b")
    text = written_statement("k", "demo.core", ["tests/test_core.py::Test::test_add"], log, DIFF)
    assert "return a - b" not in text
    assert "+  where -1 = add(1, 2)" in text


def test_written_statement_groups_tests_with_the_same_error():
    log = LOG.replace("test_chunks[size 2-3]", "Test.test_add2").replace(
        "E   TypeError: unsupported operand type(s) for -: 'list' and 'int'",
        "E       assert -1 == 3\nE        +  where -1 = add(1, 2)")
    f2p = ["tests/test_core.py::Test::test_add", "tests/test_core.py::Test::test_add2"]
    text = written_statement("k", "demo.core", f2p, log)
    assert text.count("assert -1 == 3") == 2  # the title and one group, not once per test
    assert "tests/test_core.py::Test::test_add, tests/test_core.py::Test::test_add2\n" in text


class FakeTeacher:
    name = "fake"

    def __init__(self, reply: str):
        self.reply = reply
        self.seen = None

    async def complete(self, messages, tools=None, n=1, sampling=None):
        self.seen = messages
        return [Completion(text=self.reply, content=self.reply)]


async def test_teacher_statement_is_used_when_it_keeps_the_fix_secret():
    teacher = FakeTeacher("<think>hmm</think>\n# add() subtracts\n\n`add(1, 2)` returns -1, expected 3.")
    text = await teacher_statement(teacher, "demo.core", DIFF, ["tests/test_core.py::Test::test_add"], LOG)
    assert text == "# add() subtracts\n\n`add(1, 2)` returns -1, expected 3.\n"
    prompt = teacher.seen[1].content
    assert "return a - b" in prompt and "assert -1 == 3" in prompt


async def test_teacher_statement_that_quotes_the_diff_is_refused():
    teacher = FakeTeacher("The line `return a - b` should be `return a + b`.")
    assert await teacher_statement(teacher, "demo.core", DIFF, ["tests/test_core.py::Test::test_add"], LOG) is None


def test_teacher_messages_shape():
    messages = teacher_messages("demo.core", DIFF, ["tests/test_core.py::Test::test_add"], LOG)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "never reveal" in messages[1]["content"].lower()


def test_a_test_id_cut_at_a_space_still_finds_its_section():
    text = written_statement("k", "demo.core", ["tests/test_core.py::test_chunks[size"], LOG)
    assert "TypeError: unsupported operand type(s)" in text
