"""The text action format: one bash block per turn, editor calls inside it, the sentinel."""

from __future__ import annotations

from agentforge.runtime.coding.actions import (SUBMIT_SENTINEL, is_submission, parse_action,
                                               parse_editor_command)


def test_one_block_is_the_command():
    action = parse_action("THOUGHT: look around.\n\n```bash\nls -la\ngrep -n add calc.py\n```\n")
    assert action.error is None and action.editor_args is None
    assert action.command == "ls -la\ngrep -n add calc.py"


def test_no_block_is_a_format_error():
    action = parse_action("THOUGHT: I think the bug is in calc.py.")
    assert action.command is None
    assert "Format error" in action.error and "no ```bash block" in action.error
    assert SUBMIT_SENTINEL in action.error  # the reminder says how to submit


def test_two_blocks_are_a_format_error():
    action = parse_action("```bash\nls\n```\nand then\n```bash\npwd\n```")
    assert action.command is None and "2 ```bash blocks" in action.error


def test_other_fences_do_not_count():
    action = parse_action("```python\nprint(1)\n```\n```bash\npython3 x.py\n```")
    assert action.command == "python3 x.py"


def test_empty_block_is_a_format_error():
    assert parse_action("```bash\n\n```").command is None


def test_editor_call_in_a_bash_block():
    action = parse_action("THOUGHT: fix.\n```bash\nstr_replace_editor str_replace calc.py "
                          "--old_str '    return a - b' --new_str '    return a + b'\n```")
    assert action.editor_args == {"command": "str_replace", "path": "calc.py",
                                  "old_str": "    return a - b", "new_str": "    return a + b"}


def test_editor_arguments():
    args, problem = parse_editor_command("str_replace_editor view calc.py --view_range 2 -1")
    assert problem is None and args == {"command": "view", "path": "calc.py", "view_range": [2, -1]}
    args, problem = parse_editor_command("str_replace_editor insert a.py --insert_line 0 --new_str 'x = 1\ny = 2'")
    assert problem is None and args["insert_line"] == 0 and args["new_str"] == "x = 1\ny = 2"
    for bad, says in [("str_replace_editor view", "needs a command and a path"),
                      ("str_replace_editor edit a.py", "unknown"),
                      ("str_replace_editor view a.py --view_range 1", "needs 2 values"),
                      ("str_replace_editor insert a.py --insert_line two", "whole numbers"),
                      ("str_replace_editor view a.py && ls", "unexpected argument"),
                      ("str_replace_editor create a.py --file_text 'open", "cannot parse")]:
        args, problem = parse_editor_command(bad)
        assert problem and says in problem, (bad, problem)


def test_bad_editor_call_keeps_the_command():
    action = parse_action("```bash\nstr_replace_editor frobnicate a.py\n```")
    assert action.command and action.error and action.editor_args is None


def test_submission_is_the_first_output_line():
    assert is_submission(f"{SUBMIT_SENTINEL}\ndiff --git a/x b/x\n")
    assert is_submission(f"\n  {SUBMIT_SENTINEL}  \n")
    assert not is_submission(f"building...\n{SUBMIT_SENTINEL}\n")
    assert not is_submission("")

