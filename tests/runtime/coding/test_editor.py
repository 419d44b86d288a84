"""The str_replace editor on a real bwrap sandbox's workspace."""

from __future__ import annotations

from agentforge.runtime.coding import Editor


async def test_view_file_with_line_numbers_and_range(box):
    ed = Editor(box)
    out = await ed.run("view", "calc.py")
    assert "     1\tdef add(a, b):" in out and "     2\t    return a - b" in out and "lines 1-6 of 6" in out
    out = await ed.run("view", "/workspace/calc.py", view_range=[5, -1])
    assert "     5\tdef mul(a, b):" in out and "     1\t" not in out
    assert "starts at line 9" in await ed.run("view", "calc.py", view_range=[9, 10])
    assert "two line numbers" in await ed.run("view", "calc.py", view_range=[1])


async def test_view_directory_lists_two_levels_without_hidden(box, repo):
    (repo / "pkg" / "sub" / "third").mkdir(parents=True)
    (repo / "pkg" / "sub" / "third" / "x.py").write_text("")
    out = await Editor(box).run("view", ".")
    assert "./calc.py" in out and "./pkg/sub" in out
    assert "third" not in out and ".git" not in out


async def test_str_replace_exactly_one_occurrence(box, repo):
    ed = Editor(box)
    out = await ed.run("str_replace", "calc.py", old_str="return a - b", new_str="return a + b")
    assert out.startswith("Edited calc.py") and "     2\t    return a + b" in out
    assert (repo / "calc.py").read_text().startswith("def add(a, b):\n    return a + b\n")

    missing = await ed.run("str_replace", "calc.py", old_str="return a / b", new_str="x")
    assert missing.startswith("Error:") and "not found" in missing
    twice = await ed.run("str_replace", "calc.py", old_str="(a, b):", new_str="(x, y):")
    assert twice.startswith("Error:") and "2 times" in twice and "lines 1, 5" in twice
    assert "same" in await ed.run("str_replace", "calc.py", old_str="a", new_str="a")
    assert "needs old_str" in await ed.run("str_replace", "calc.py", new_str="x")


async def test_insert_and_undo(box, repo):
    ed = Editor(box)
    original = (repo / "calc.py").read_text()
    out = await ed.run("insert", "calc.py", insert_line=0, new_str='"""Arithmetic."""')
    assert (repo / "calc.py").read_text() == '"""Arithmetic."""\n' + original
    assert '     1\t"""Arithmetic."""' in out
    await ed.run("insert", "calc.py", insert_line=7, new_str="\n\ndef neg(a):\n    return -a")
    assert (repo / "calc.py").read_text().endswith("return a * b\n\n\ndef neg(a):\n    return -a\n")
    assert "between 0 and" in await ed.run("insert", "calc.py", insert_line=99, new_str="x")

    assert (await ed.run("undo_edit", "calc.py")).startswith("Undid the last edit")
    assert (repo / "calc.py").read_text() == '"""Arithmetic."""\n' + original
    await ed.run("undo_edit", "calc.py")
    assert (repo / "calc.py").read_text() == original
    assert "no edit of calc.py to undo" in await ed.run("undo_edit", "calc.py")


async def test_create_never_overwrites_and_undo_removes(box, repo):
    ed = Editor(box)
    assert (await ed.run("create", "pkg/new.py", file_text="X = 1\n")).startswith("Created pkg/new.py")
    assert (repo / "pkg" / "new.py").read_text() == "X = 1\n"
    refused = await ed.run("create", "calc.py", file_text="")
    assert refused.startswith("Error:") and "already exists" in refused
    assert "needs file_text" in await ed.run("create", "other.py")
    assert "removed" in await ed.run("undo_edit", "pkg/new.py")
    assert not (repo / "pkg" / "new.py").exists()


async def test_errors_for_bad_paths_and_commands(box, tmp_path):
    ed = Editor(box)
    assert "does not exist" in await ed.run("view", "nope.py")
    assert "does not exist" in await ed.run("str_replace", "nope.py", old_str="a", new_str="b")
    assert "is a directory" in await ed.run("insert", ".", insert_line=0, new_str="x")
    outside = await ed.run("view", "/etc/passwd")
    assert outside.startswith("Error:") and "outside the repository" in outside
    assert "outside" in await ed.run("create", "../escape.py", file_text="x")
    assert not (tmp_path / "escape.py").exists()
    assert "unknown command" in await ed.run("delete", "calc.py")
