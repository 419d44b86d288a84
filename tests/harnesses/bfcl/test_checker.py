"""The single-turn AST checker on hand-made cases, one rule at a time."""

import pytest

from agentforge.harnesses.bfcl.checker import check_ast, is_call_list, normalize_string
from agentforge.harnesses.bfcl.lang_literals import java_value, js_value


def doc(name, properties, required=()):
    return {"name": name, "description": "", "parameters": {"type": "dict", "properties": properties, "required": list(required)}}


AREA = doc("geo.area", {
    "base": {"type": "integer"},
    "height": {"type": "float"},
    "unit": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "point": {"type": "tuple", "items": {"type": "integer"}},
    "opts": {"type": "dict"},
}, required=["base", "height"])


def check(call, answer, category="simple", functions=(AREA,)):
    return check_ast(list(functions), call, answer, category)


def ok(params):
    return check([{"geo.area": params}], [{"geo.area": ANSWER}])


ANSWER = {"base": [10], "height": [5.0, 5.5], "unit": ["square meters", ""], "tags": [["Big", "red"], ""],
          "point": [[1, 2], ""], "opts": [{"mode": ["fast"], "level": [1, ""]}, ""]}


def test_exact_answer_passes_and_each_rule_can_fail():
    assert ok({"base": 10, "height": 5.0}).valid
    assert ok({"base": 10, "height": 5.0, "unit": "square meters"}).valid
    assert ok({"base": 11, "height": 5.0}).error_type == "value_error:others"
    assert ok({"height": 5.0}).error_type == "simple_function_checker:missing_required"
    assert ok({"base": 10, "height": 5.0, "colour": "red"}).error_type == "simple_function_checker:unexpected_param"


def test_type_rules():
    assert ok({"base": 10, "height": 5}).valid  # an int is fine for a float
    assert ok({"base": 10.0, "height": 5.0}).error_type == "type_error:simple"  # a float is not an int
    assert ok({"base": True, "height": 5.0}).error_type == "type_error:simple"  # nor is a bool
    assert ok({"base": "10", "height": 5.0}).error_type == "type_error:simple"
    # A possible answer of another type than declared is a "variable": plain equality decides.
    var = [{"geo.area": {"base": ["n"], "height": [5.0]}}]
    assert check([{"geo.area": {"base": "n", "height": 5.0}}], var).valid
    assert not check([{"geo.area": {"base": "N", "height": 5.0}}], var).valid  # no normalization for variables


def test_string_normalization():
    assert normalize_string("April 1, 2024") == normalize_string("april 1 2024") == "april12024"
    assert normalize_string("it's") == 'it"s'
    assert ok({"base": 10, "height": 5.0, "unit": "Square-Meters."}).valid
    assert ok({"base": 10, "height": 5.0, "unit": "square feet"}).error_type == "value_error:string"


def test_optional_parameters():
    # "" among the accepted values marks a parameter optional; otherwise it must be given.
    strict = [{"geo.area": {"base": [10], "height": [5.0], "unit": ["m2"]}}]
    missing = check([{"geo.area": {"base": 10, "height": 5.0}}], strict)
    assert missing.error_type == "simple_function_checker:missing_optional"
    # A declared parameter the answer does not list is unexpected.
    assert check([{"geo.area": {"base": 10, "height": 5.0, "tags": ["x"]}}], strict).error_type == \
        "simple_function_checker:unexpected_param"


def test_lists_tuples_and_nested_types():
    assert ok({"base": 10, "height": 5.0, "tags": ["big", "Red"]}).valid  # elements normalized
    assert ok({"base": 10, "height": 5.0, "tags": ["red", "big"]}).error_type == "value_error:list/tuple"  # order matters
    strict = [{"geo.area": {"base": [10], "height": [5.0], "tags": [["big", "red"]]}}]
    assert check([{"geo.area": {"base": 10, "height": 5.0, "tags": ["big", 3]}}], strict).error_type == "type_error:nested"
    # Official quirk: with "" (optional) among the answers, the element type check passes outright.
    assert ok({"base": 10, "height": 5.0, "tags": ["big", 3]}).error_type == "value_error:list/tuple"
    assert ok({"base": 10, "height": 5.0, "point": (1, 2)}).valid  # a tuple is compared as a list
    assert ok({"base": 10, "height": 5.0, "point": [2, 1]}).error_type == "value_error:list/tuple"
    # The official quirk: an empty list matches an optional ("") parameter's answer.
    assert ok({"base": 10, "height": 5.0, "tags": []}).valid


def test_dict_values_one_level():
    assert ok({"base": 10, "height": 5.0, "opts": {"mode": "FAST"}}).valid  # optional key left out, value normalized
    assert ok({"base": 10, "height": 5.0, "opts": {"mode": "fast", "level": 1}}).valid
    assert ok({"base": 10, "height": 5.0, "opts": {"mode": "slow"}}).error_type == "value_error:dict_value"
    assert ok({"base": 10, "height": 5.0, "opts": {"mode": "fast", "x": 1}}).error_type == "value_error:dict_key"
    assert ok({"base": 10, "height": 5.0, "opts": {"level": 1}}).error_type == "value_error:dict_key"


def test_list_of_dicts():
    fn = doc("f", {"rows": {"type": "array", "items": {"type": "dict"}}}, required=["rows"])
    answer = [{"f": {"rows": [[{"a": [1]}, {"a": [2, 3]}]]}}]
    assert check([{"f": {"rows": [{"a": 1}, {"a": 3}]}}], answer, functions=[fn]).valid
    assert check([{"f": {"rows": [{"a": 1}]}}], answer, functions=[fn]).error_type == "value_error:list_dict_count"
    assert check([{"f": {"rows": [{"a": 2}, {"a": 3}]}}], answer, functions=[fn]).error_type == "value_error:dict_value"


def test_function_names_and_counts():
    right = {"base": 10, "height": 5.0}
    answer = [{"geo.area": ANSWER}]
    assert check([{"geo_area": right}], answer).error_type == "simple_function_checker:wrong_func_name"
    # A model whose API forbids "." in names is checked against the underscored name.
    assert check_ast([AREA], [{"geo_area": right}], answer, "simple", underscore_to_dot=True).valid
    assert check([{"geo.area": right}] * 2, answer).error_type == "simple_function_checker:wrong_count"
    assert check([], answer).error_type == "simple_function_checker:wrong_count"


def test_multiple_checks_the_expected_function_only():
    other = doc("other", {"q": {"type": "string"}}, required=["q"])
    answer = [{"geo.area": ANSWER}]
    assert check([{"geo.area": {"base": 10, "height": 5.0}}], answer, "multiple", [other, AREA]).valid
    assert check([{"other": {"q": "x"}}], answer, "multiple", [other, AREA]).error_type == \
        "simple_function_checker:wrong_func_name"


def test_parallel_matches_in_any_order():
    play = doc("play", {"artist": {"type": "string"}, "minutes": {"type": "integer"}}, required=["artist"])
    answer = [{"play": {"artist": ["Taylor Swift"], "minutes": [20]}}, {"play": {"artist": ["Maroon 5"], "minutes": [15]}}]
    a, b = {"play": {"artist": "taylor swift", "minutes": 20}}, {"play": {"artist": "Maroon 5", "minutes": 15}}
    assert check([a, b], answer, "parallel", [play]).valid
    assert check([b, a], answer, "live_parallel_multiple", [play]).valid
    assert check([a, a], answer, "parallel", [play]).error_type == "parallel_function_checker_no_order:cannot_find_match"
    assert check([a], answer, "parallel", [play]).error_type == "parallel_function_checker_no_order:wrong_count"


def test_output_format():
    assert is_call_list([]) and is_call_list([{"f": {}}])
    assert not is_call_list([{"f": {}, "g": {}}]) and not is_call_list([{"f": "x=1"}]) and not is_call_list("f()")
    assert check([{"geo.area": "base=10"}], [{"geo.area": ANSWER}]).error_type == "ast_decoder:decoder_wrong_output_format"


def test_java_literals():
    assert java_value("3.5f", "float") == 3.5 and java_value("3.5", "float") == "3.5"  # no suffix: stays a string
    assert java_value("12L", "long") == 12 and java_value("12", "double") == 12.0
    assert java_value("true", "boolean") is True and java_value("yes", "boolean") == "yes"
    assert java_value('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String") == ["a", "b"]
    assert java_value("new int[]{1, 2}", "Array", "integer") == [1, 2]
    assert java_value('new String[]{"a"}', "Array", "String") == ['"a"']  # official quirk: quotes kept
    assert java_value('new HashMap<String, Object>() {{ put("k", 5); put("s", "v"); }}', "HashMap") == {"k": 5, "s": "v"}
    with pytest.raises(NotImplementedError):
        java_value("x", "Set")

    fn = doc("Calc.scale", {"factor": {"type": "float"}, "items": {"type": "ArrayList", "items": {"type": "integer"}}},
             required=["factor"])
    answer = [{"Calc.scale": {"factor": [2.5], "items": [[1, 2], ""]}}]
    assert check([{"Calc.scale": {"factor": "2.5f"}}], answer, "java", [fn]).valid
    assert check([{"Calc.scale": {"factor": "2.5f", "items": "new ArrayList<>(Arrays.asList(1, 2))"}}], answer, "java", [fn]).valid
    assert check([{"Calc.scale": {"factor": 2.5}}], answer, "java", [fn]).error_type == "type_error:java"
    assert check([{"Calc.scale": {"factor": "2.5"}}], answer, "java", [fn]).error_type == "type_error:simple"


def test_javascript_literals():
    assert js_value("'abc'", "String") == "abc" and js_value("abc", "String") == "abc"
    assert js_value("5n", "Bigint") == 5 and js_value("[1, 'a', true]", "array") == [1, "a", True]
    assert js_value("{'k': 1, 'b': [1, 2]}", "dict") == {"k": 1, "b": [1, 2]}
    assert js_value("[[1, 2], [3, 4]]", "array") == [[1, 2], [3, 4]]
    fn = doc("go", {"id": {"type": "String"}, "n": {"type": "integer"}}, required=["id"])
    answer = [{"go": {"id": ["form1"], "n": [3, ""]}}]
    assert check([{"go": {"id": '"form1"', "n": "3"}}], answer, "javascript", [fn]).valid
    assert check([{"go": {"id": "form1", "n": 3}}], answer, "javascript", [fn]).error_type == "type_error:js"
