"""Aider's edit formats on hand-made model replies: whole-file listings and SEARCH/REPLACE blocks."""

import pytest

from agentforge.harnesses.aider.chat import choose_fence
from agentforge.harnesses.aider.edit_diff import apply_diff, parse_blocks, replace_block
from agentforge.harnesses.aider.edit_whole import EditFormatError, apply_whole, parse_whole

FENCE = ("```", "```")
CODE = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * a\n"


# ---- whole

def test_whole_takes_the_filename_from_the_line_before_the_fence_and_strips_markup():
    reply = "Here it is:\n\n**calc.py**:\n```python\nprint(1)\n```\n"
    assert apply_whole(reply, {"calc.py": CODE}, FENCE).files == {"calc.py": "print(1)\n"}


def test_whole_drops_a_wrong_folder_when_the_base_name_is_a_chat_file():
    reply = "src/main/java/Calc.java\n```\nclass Calc {}\n```\n"
    assert parse_whole(reply, ["Calc.java"], FENCE) == [("Calc.java", "class Calc {}\n")]


def test_whole_without_a_filename_means_the_only_chat_file():
    assert apply_whole("```\nx = 1\n```\n", {"a.py": ""}, FENCE).files == {"a.py": "x = 1\n"}


def test_whole_without_a_filename_and_two_chat_files_is_an_error():
    with pytest.raises(EditFormatError, match="No filename"):
        apply_whole("\n```\nx = 1\n```\n", {"a.h": "", "a.cpp": ""}, FENCE)


def test_whole_lists_several_files_and_new_ones():
    reply = "a.h\n```\n#pragma once\n```\n\nnew_helper.cpp\n```\nint x;\n```\n"
    assert apply_whole(reply, {"a.h": "", "a.cpp": ""}, FENCE).files == {"a.h": "#pragma once\n",
                                                                         "new_helper.cpp": "int x;\n"}


# ---- diff

def block(search: str, replace: str, name: str = "calc.py") -> str:
    return f"{name}\n```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def test_diff_exact_match_replaces_only_the_first_occurrence():
    text = "x = 1\ny = 2\nx = 1\n"
    assert replace_block(text, "x = 1\n", "x = 3\n") == "x = 3\ny = 2\nx = 1\n"


def test_diff_matches_despite_a_uniform_leading_whitespace_difference_and_reindents():
    result = apply_diff(block("return a - b\n", "return a + b\n"), {"calc.py": CODE}, FENCE)
    assert result.errors == []
    assert result.files["calc.py"].splitlines()[1] == "    return a + b"


def test_diff_drops_a_spurious_leading_blank_line():
    result = apply_diff(block("\ndef mul(a, b):\n    return a * a\n", "def mul(a, b):\n    return a * b\n"),
                        {"calc.py": CODE}, FENCE)
    assert result.errors == [] and "return a * b" in result.files["calc.py"]


def test_diff_elision_with_dots_replaces_each_piece():
    search = "def add(a, b):\n    return a - b\n...\n    return a * a\n"
    replace = "def add(a, b):\n    return a + b\n...\n    return a * b\n"
    result = apply_diff(block(search, replace), {"calc.py": CODE}, FENCE)
    assert result.errors == []
    assert "return a + b" in result.files["calc.py"] and "return a * b" in result.files["calc.py"]


def test_diff_has_no_fuzzy_matching_a_near_miss_fails_and_is_reported():
    result = apply_diff(block("def add(a, b):\n    return a-b\n", "x\n"), {"calc.py": CODE}, FENCE)
    assert result.files == {} and len(result.errors) == 1 and "failed to exactly match" in result.errors[0]


def test_diff_applies_the_blocks_that_match_even_when_another_fails():
    reply = block("    return a - b\n", "    return a + b\n") + block("nothing like this\n", "y\n")
    result = apply_diff(reply, {"calc.py": CODE}, FENCE)
    assert "return a + b" in result.files["calc.py"] and len(result.errors) == 1


def test_diff_tries_the_other_chat_files_when_the_named_one_does_not_match():
    files = {"a.h": "int f();\n", "a.cpp": "int f() { return 0; }\n"}
    result = apply_diff(block("int f() { return 0; }\n", "int f() { return 1; }\n", "a.h"), files, FENCE)
    assert result.files == {"a.cpp": "int f() { return 1; }\n"}


def test_diff_empty_search_creates_a_file():
    result = apply_diff(block("", "print('new')\n", "extra.py"), {"calc.py": CODE}, FENCE)
    assert result.files == {"extra.py": "print('new')\n"}


def test_diff_block_without_a_filename_reuses_the_previous_one():
    reply = block("    return a - b\n", "    return a + b\n") + \
        "```\n<<<<<<< SEARCH\n    return a * a\n=======\n    return a * b\n>>>>>>> REPLACE\n```\n"
    blocks = parse_blocks(reply, ["calc.py", "other.py"], FENCE)
    assert [b[0] for b in blocks] == ["calc.py", "calc.py"]


def test_diff_unterminated_block_is_a_format_error():
    with pytest.raises(EditFormatError, match="REPLACE"):
        apply_diff("calc.py\n```\n<<<<<<< SEARCH\nx\n=======\ny\n", {"calc.py": CODE}, FENCE)


def test_the_fence_avoids_backticks_that_start_a_line_of_the_files():
    assert choose_fence(["plain code\n"]) == ("```", "```")
    assert choose_fence(["/**\n```js\nexample\n```\n*/\n"]) == ("````", "````")
