"""BFCL AST checker: single-turn verdicts identical to the official `ast_checker`.

Rules re-implemented from the official checker (bfcl-eval 2025.6.16), quirks
included, because the point is the same verdict on every output:
- a possible answer maps each parameter to a list of accepted values; `""` in
  the list marks the parameter optional;
- strings compare after normalization (drop spaces and `,./-_*^`, lowercase,
  `'` -> `"`), also inside lists and one level of dicts;
- Python: an int is accepted for a float; a value whose type matches the
  possible answer's type (not the declared one) is a "variable" and compares
  by plain equality; arrays/tuples get a one-level element type check;
- Java / JavaScript values arrive as strings in their language's syntax and
  are converted (numbers, booleans, arrays, maps) before comparison;
- simple: exactly one call; multiple: one call, checked against the expected
  function; parallel (incl. parallel_multiple): same count, matched greedily
  in any order (each expected call takes the first unused output that passes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentforge.harnesses.bfcl import lang_literals


@dataclass
class Verdict:
    valid: bool
    error_type: str = ""
    errors: list[str] = field(default_factory=list)


_OK = Verdict(True)

_PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_PYTHON_NESTED = ("array", "tuple")  # declared types whose elements get a type check
_CONVERTED_NESTED = ("Array", "ArrayList", "array")  # Java/JS collection types with typed items

_STRIP = re.compile(r"[ ,./\-_*^]")


def normalize_string(text: str) -> str:
    return _STRIP.sub("", text).lower().replace("'", '"')


def language_of(category: str) -> str:
    if "javascript" in category:
        return "JavaScript"
    if "java" in category:
        return "Java"
    return "Python"


def is_call_list(decoded: Any) -> bool:
    """The official format test: a list of one-key dicts {name: {param: value}} ([] passes)."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1 or type(next(iter(item.values()))) is not dict:
            return False
    return True


def check_ast(
    functions: list[dict],
    decoded: list[dict],
    answer: list[dict],
    category: str,
    *,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Verdict on decoded calls `[{name: {param: value}}]` against a possible answer.

    `underscore_to_dot` mirrors the official per-model flag for models whose
    API forbids `.` in function names (the expected name's dots become `_`);
    OSS function-calling models, ours included, keep the dots.
    """
    if not is_call_list(decoded):
        return Verdict(False, "ast_decoder:decoder_wrong_output_format", ["output is not a list of {name: {params}} calls"])
    language = language_of(category)
    if "parallel" in category:
        return _check_parallel(functions, decoded, answer, language, underscore_to_dot)
    if "multiple" in category:
        if len(decoded) != len(answer):
            return Verdict(False, "multiple_function_checker:wrong_count", ["wrong number of calls"])
        expected = next(iter(answer[0]))
        return _check_call(_find_doc(functions, expected), decoded[0], answer[0], language, underscore_to_dot)
    if len(decoded) != 1:
        return Verdict(False, "simple_function_checker:wrong_count", ["wrong number of calls"])
    return _check_call(functions[0], decoded[0], answer[0], language, underscore_to_dot)


def _find_doc(functions: list[dict] | dict, name: str) -> dict | None:
    if isinstance(functions, dict):
        return functions
    for doc in functions:
        if doc["name"] == name:
            return doc
    return None


def _check_parallel(functions, decoded, answer, language, underscore_to_dot) -> Verdict:
    if len(decoded) != len(answer):
        return Verdict(False, "parallel_function_checker_no_order:wrong_count", ["wrong number of calls"])
    used: set[int] = set()
    for i, expected in enumerate(answer):
        doc = _find_doc(functions, next(iter(expected)))
        errors: list[str] = []
        for j, call in enumerate(decoded):
            if j in used:
                continue
            verdict = _check_call(doc, call, expected, language, underscore_to_dot)
            if verdict.valid:
                used.add(j)
                break
            errors.append(f"output {j}: {verdict.error_type}: {'; '.join(verdict.errors)}")
        else:
            return Verdict(False, "parallel_function_checker_no_order:cannot_find_match",
                           [f"no output call matches expected call {i}"] + errors)
    return _OK


def _check_call(doc: dict | None, call: dict, expected: dict, language: str, underscore_to_dot: bool) -> Verdict:
    if doc is None:  # the official checker crashes here; no v3 answer names an undocumented function
        return Verdict(False, "checker:undocumented_function", ["expected function has no doc"])
    accepted: dict[str, list] = next(iter(expected.values()))
    name = doc["name"]
    if underscore_to_dot and "." in name:
        name = name.replace(".", "_")
    properties = doc["parameters"]["properties"]
    if name not in call:
        return Verdict(False, "simple_function_checker:wrong_func_name", [f"function {name!r} not called"])
    params: dict = call[name]
    for required in doc["parameters"]["required"]:
        if required not in params:
            return Verdict(False, "simple_function_checker:missing_required", [f"missing required parameter {required!r}"])

    for param, value in params.items():
        if param not in properties or param not in accepted:
            return Verdict(False, "simple_function_checker:unexpected_param", [f"unexpected parameter {param!r}"])
        declared = properties[param]["type"]
        inner_type: type | None = None
        if language == "Python":
            expected_type = _PYTHON_TYPES[declared]
            if declared in _PYTHON_NESTED:
                inner_type = _PYTHON_TYPES[properties[param]["items"]["type"]]
        else:
            table = lang_literals.JAVA_TYPES if language == "Java" else lang_literals.JS_TYPES
            expected_type = table[declared]
            if type(value) is not str:
                kind = "java" if language == "Java" else "js"
                return Verdict(False, f"type_error:{kind}", [f"parameter {param!r} must be a {language} literal in a string"])
            convert = lang_literals.java_value if language == "Java" else lang_literals.js_value
            if declared in _CONVERTED_NESTED:
                item_declared = properties[param]["items"]["type"]
                inner_type = table[item_declared]
                value = convert(value, declared, item_declared)
            else:
                value = convert(value, declared)

        if declared == "tuple" and type(value) is tuple:
            value = list(value)  # answers went through JSON, where tuples became lists
        if language == "Python" and declared == "float" and type(value) is int:
            value = float(value)

        verdict, is_variable = _check_type(param, value, accepted[param], declared, expected_type, inner_type)
        if not verdict.valid:
            return verdict

        if not is_variable:
            if expected_type is dict:
                verdict = _check_dict(param, value, accepted[param])
            elif expected_type is list and inner_type is dict:
                verdict = _check_dict_list(param, value, accepted[param])
            elif expected_type is str:
                verdict = _check_string(param, value, accepted[param])
            elif expected_type is list:
                verdict = _check_list(param, value, accepted[param])
            else:
                verdict = None
            if verdict is not None:
                if not verdict.valid:
                    return verdict
                continue
        if value not in accepted[param]:
            return Verdict(False, "value_error:others", [f"invalid value for {param!r}: {value!r}; accepted {accepted[param]!r}"])

    for param, values in accepted.items():
        if param not in params and "" not in values:
            return Verdict(False, "simple_function_checker:missing_optional", [f"parameter {param!r} is expected but not given"])
    return _OK


def _answer_type(values: list) -> type | None:
    """The type of the first non-optional accepted value (a "variable" answer is a string)."""
    for v in values:
        if v != "":
            return type(v)
    return None


def _check_type(param, value, values, declared, expected_type, inner_type) -> tuple[Verdict, bool]:
    """(verdict, is_variable), the official type rules; elements are checked one level deep."""
    answer_type = _answer_type(values)
    is_variable = answer_type is not None and answer_type != expected_type
    failed: Verdict | None = None
    if type(value) == expected_type:
        if inner_type is None:
            return _OK, is_variable
        for option in values:
            ok = True
            if type(option) == list:
                for item in value:
                    item_verdict, _ = _check_type(param, item, option, str(inner_type), inner_type, None)
                    if not item_verdict.valid:
                        ok = False
                        break
            if ok:  # a non-list option (e.g. "" for optional) passes outright, as officially
                return _OK, is_variable
        failed = Verdict(False, "type_error:nested", [f"element types of {param!r} do not match {declared}"])
    if answer_type is not None and type(value) == answer_type:
        # A value of the answer's own type: a variable. After a failed nested
        # check the official code still returns that failure here.
        return (failed or _OK), True
    return Verdict(False, "type_error:simple", [f"parameter {param!r} should be {declared}, got {type(value).__name__}"]), False


def _check_string(param: str, value: str, values: list) -> Verdict:
    if normalize_string(value) not in [normalize_string(v) for v in values if type(v) == str]:
        return Verdict(False, "value_error:string", [f"invalid value for {param!r}: {value!r}; accepted {values!r}"])
    return _OK


def _norm_items(items: list) -> list:
    return [normalize_string(v) if type(v) == str else v for v in items]


def _check_list(param: str, value: list, values: list) -> Verdict:
    # Every accepted option is indexed as a list (the official code assumes it).
    if _norm_items(list(value)) not in [_norm_items([option[k] for k in range(len(option))]) for option in values]:
        return Verdict(False, "value_error:list/tuple", [f"invalid value for {param!r}: {value!r}; accepted {values!r}"])
    return _OK


def _check_dict(param: str, value: dict, options: list) -> Verdict:
    """One level of dict: every given key accepted with an accepted value, every
    non-optional key given; the first option that fits wins."""
    result = Verdict(False, "dict_checker:unclear")
    for option in options:
        if option == "":
            continue
        result = Verdict(False, "dict_checker:unclear")
        ok = True
        for key, item in value.items():
            if key not in option:
                result = Verdict(False, "value_error:dict_key", [f"unexpected key {key!r} in {param!r}"])
                ok = False
                break
            accepted = option[key]
            normalized = [normalize_string(accepted[k]) if type(accepted[k]) == str else accepted[k] for k in range(len(accepted))]
            if (normalize_string(item) if type(item) == str else item) not in normalized:
                result = Verdict(False, "value_error:dict_value", [f"invalid value for key {key!r} of {param!r}: {item!r}"])
                ok = False
                break
        for key, accepted in option.items():
            if key not in value and "" not in accepted:
                result = Verdict(False, "value_error:dict_key", [f"missing key {key!r} in {param!r}"])
                ok = False
                break
        if ok:
            return _OK
    return result


def _check_dict_list(param: str, value: list, options: list) -> Verdict:
    """A list of dicts: same length as an option and each dict fits its counterpart, in order."""
    result = Verdict(False, "list_dict_checker:unclear")
    for option in options:
        if len(value) != len(option):
            result = Verdict(False, "value_error:list_dict_count", [f"wrong number of dicts in {param!r}"])
            continue
        ok = True
        for k in range(len(value)):
            result = _check_dict(param, value[k], [option[k]])
            if not result.valid:
                ok = False
                break
        if ok:
            return _OK
    return result
