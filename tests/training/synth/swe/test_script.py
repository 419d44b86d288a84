"""Planning a scripted fix from a gold patch: the edits, the replies in the agent's format, the checks."""

from __future__ import annotations

import pytest

from agentforge.harnesses.swebench.instances import Instance
from agentforge.runtime.coding.actions import SUBMIT_SENTINEL, parse_action
from agentforge.training.synth.swe.script import ScriptError, Turn, parse_patch, plan_edits, plan_fix

SOURCE = """\
def total(items):
    count = 0
    for item in items:
        count -= item
    return count


def clamp(x, lo, hi):
    if x < lo:
        return lo
    return x


def clamp_twice(x, lo, hi):
    if x < lo:
        return lo
    return x
"""
FIXED = SOURCE.replace("count -= item", "count += item").replace(
    "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return x",
    "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x")


def unified(old: str, new: str, path: str = "pkg/calc.py") -> str:
    import difflib

    body = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="", n=3)
    return f"diff --git a/{path} b/{path}\n" + "\n".join(body) + "\n"


def instance(patch: str, **extra) -> Instance:
    return Instance(instance_id="calc-1.0__swap_operator-abc", repo="pypi/calc", base_commit="0" * 40, patch=patch,
                    problem_statement="total([1, 2]) returns -3", FAIL_TO_PASS=["tests/test_calc.py::test_total[1]"],
                    PASS_TO_PASS=["tests/test_calc.py::test_clamp"], **extra)


def apply(text: str, edits) -> str:
    for e in edits:
        assert text.count(e.old) == 1, e.old
        text = text.replace(e.old, e.new)
    return text


def test_the_edits_reproduce_the_gold_post_image_with_unique_minimal_old_strings():
    edits = plan_edits(parse_patch(unified(SOURCE, FIXED)), lambda path: SOURCE)
    assert apply(SOURCE, edits) == FIXED
    assert edits[0].old == "        count -= item" and edits[0].new == "        count += item"
    # an insertion has no removed line: the old_str grows by context until it occurs once
    # (`    if x < lo:\n        return lo\n    return x` occurs twice, in clamp and clamp_twice)
    assert edits[1].added == ["    if x > hi:", "        return hi"] and edits[1].removed == []
    assert SOURCE.count(edits[1].old) == 1 and edits[1].first_line >= 8


def test_a_hunk_that_cannot_be_made_unique_or_a_new_file_is_refused():
    repeated = "a\nb\n" * 4  # with one line of context, every window of the hunk occurs several times
    patch = "diff --git a/r.py b/r.py\n--- a/r.py\n+++ b/r.py\n@@ -3,3 +3,3 @@\n a\n-b\n+c\n a\n"
    with pytest.raises(ScriptError, match="exactly once"):
        plan_edits(parse_patch(patch), lambda path: repeated)
    with pytest.raises(ScriptError, match="more than modify"):
        parse_patch("diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x\n")


def test_the_replies_are_the_agents_own_format_and_the_editor_parses_them_back():
    turns = plan_fix(instance(unified(SOURCE, FIXED), mutation={"kind": "swap_operator", "function": "total"}),
                     lambda path: SOURCE)
    actions = [parse_action(t.text) for t in turns]
    assert all(t.text.startswith("THOUGHT: ") and a.command and a.error is None for t, a in zip(turns, actions))
    assert "pytest" in actions[0].command and "'tests/test_calc.py::test_total[1]'" in actions[0].command
    assert actions[1].editor_args["command"] == "view" and actions[1].editor_args["path"] == "pkg/calc.py"
    replaces = [a.editor_args for a in actions if a.editor_args and a.editor_args["command"] == "str_replace"]
    assert apply(SOURCE, [type("E", (), {"old": r["old_str"], "new": r["new_str"]}) for r in replaces]) == FIXED
    assert actions[-2].command.endswith("tests/test_calc.py 2>&1 | tail -n 3")
    assert actions[-1].command == f"echo {SUBMIT_SENTINEL}"
    assert [t.expect for t in turns] == ["fails", "ok", "ok", "ok", "passes", None]
    # deterministic: the same instance plans the same replies
    again = plan_fix(instance(unified(SOURCE, FIXED), mutation={"kind": "swap_operator", "function": "total"}),
                     lambda path: SOURCE)
    assert [t.text for t in again] == [t.text for t in turns]
    assert "the arguments" not in turns[2].text and "wrong operator" in turns[2].text


def test_turn_checks_read_the_real_observations():
    fails = Turn("x", expect="fails")
    assert fails.check("<returncode>0</returncode>\n<output>\n1 failed in 0.1s\n</output>") is None
    assert fails.check("<returncode>0</returncode>\n<output>\n3 passed in 0.1s\n</output>")
    passes = Turn("x", expect="passes")
    assert passes.check("<returncode>0</returncode>\n<output>\n39 passed in 0.1s\n</output>") is None
    assert passes.check("<returncode>0</returncode>\n<output>\n1 failed, 38 passed\n</output>")
    assert passes.check("<returncode>0</returncode>\n<output>\n1 error in 0.1s\n</output>")
    assert Turn("x", expect="ok").check("<returncode>1</returncode>\n<output>\nError: ...\n</output>")


def test_a_line_moved_inside_one_hunk_is_two_edits_each_on_the_file_as_it_is_then():
    head, tail = "def titleize(word):\n    return re.sub(\n", "        word,\n    )\n"
    source = head + "        lambda m: m.group(1),\n        r'x',\n" + tail
    fixed = head + "        r'x',\n        lambda m: m.group(1),\n" + tail
    patch = ("diff --git a/t.py b/t.py\n--- a/t.py\n+++ b/t.py\n@@ -1,6 +1,6 @@\n def titleize(word):\n"
             "     return re.sub(\n-        lambda m: m.group(1),\n         r'x',\n+        lambda m: m.group(1),\n"
             "         word,\n     )\n")
    edits = plan_edits(parse_patch(patch), lambda path: source)
    assert len(edits) == 2 and apply(source, edits) == fixed
    assert [e.first_line for e in edits] == [2, 3]
    assert edits[0].new == "    return re.sub("  # a deletion takes a context line along: no blank line is left
