"""Decoded BFCL outputs generated from the ground truth, several per entry, for
the agreement and scoring-speed benchmarks (see bfcl_official_agreement.py)."""

from __future__ import annotations

import copy
import json
import random

from agentforge.harnesses.bfcl import data
from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
from agentforge.harnesses.bfcl.multi_turn_check import answer_calls

def _first(options: list):
    for option in options:
        if option != "":
            return _pick(option)
    return None


def _pick(value):
    """One accepted value: dict answers hold option lists per key, lists of dicts likewise."""
    if isinstance(value, dict):
        return {k: _first(v) for k, v in value.items() if isinstance(v, list) and any(o != "" for o in v)}
    if isinstance(value, list):
        return [_pick(v) if isinstance(v, dict) else v for v in value]
    return value


def _java_literal(value, declared: str, item: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "long" and isinstance(value, int):
        return f"{value}L"
    if declared == "float" and isinstance(value, (int, float)):
        return f"{value}f"
    if declared in ("ArrayList", "Array") and isinstance(value, list):
        parts = [_java_element(v, item) for v in value]
        if declared == "ArrayList":
            return f"new ArrayList<>(Arrays.asList({', '.join(parts)}))"
        return "new " + ("String" if item == "String" else "int") + "[]{" + ", ".join(
            str(v) if item == "String" else p for v, p in zip(value, parts)) + "}"
    if declared == "HashMap" and isinstance(value, dict):
        puts = " ".join(f'put("{k}", {_java_element(v, None)});' for k, v in value.items())
        return f"new HashMap<String, String>() {{{{ {puts} }}}}"
    return str(value)


def _java_element(value, item: str | None) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return _java_literal(value, item or "any")


def _js_literal(value, declared: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "Bigint" and isinstance(value, int):
        return f"{value}n"
    if isinstance(value, list):
        return "[" + ", ".join(f"'{v}'" if isinstance(v, str) else _js_literal(v, "any") for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': " + (f"'{v}'" if isinstance(v, str) else _js_literal(v, "any")) for k, v in value.items()) + "}"
    return str(value)


def _render(category: str, doc: dict | None, params: dict) -> dict:
    """Python values -> the argument strings a model gives in the java/javascript categories."""
    if doc is None or category not in ("java", "javascript"):
        return params
    props = doc["parameters"]["properties"]
    out = {}
    for name, value in params.items():
        spec = props.get(name, {"type": "any"})
        if category == "java":
            out[name] = _java_literal(value, spec["type"], spec.get("items", {}).get("type"))
        else:
            out[name] = _js_literal(value, spec["type"])
    return out


def _doc(entry: dict, name: str) -> dict | None:
    return next((d for d in entry["function"] if d["name"] == name), None)


def _correct_calls(category: str, entry: dict, answer: list[dict], choose=_first) -> list[dict]:
    calls = []
    for expected in answer:
        name, accepted = next(iter(expected.items()))
        params = {}
        for p, options in accepted.items():
            if any(o != "" for o in options):
                params[p] = choose(options)
        calls.append({name: _render(category, _doc(entry, name), params)})
    return calls


def _wrong_value(value, rng: random.Random):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.randint(1, 9)
    if isinstance(value, float):
        return value * 1.5 + 1
    if isinstance(value, str):
        return value + " zq"
    if isinstance(value, list):
        return value + [value[0]] if value else ["zq"]
    if isinstance(value, dict):
        return {**value, "zq_key": 1}
    return "zq"


def _wrong_type(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 12
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return None


def _string_variant(value: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return value.upper()
    if kind == 1:
        return value.replace(" ", "-")
    if kind == 2:
        return value.replace(" ", "_").lower() + "."
    return value.replace(",", "").replace(" ", "")


def _mutate_param(calls: list[dict], rng: random.Random, how) -> list[dict] | None:
    calls = copy.deepcopy(calls)
    slots = [(i, p) for i, c in enumerate(calls) for p in next(iter(c.values()))]
    if not slots:
        return None
    i, p = rng.choice(slots)
    params = next(iter(calls[i].values()))
    new = how(params[p])
    if new is _SKIP:
        return None
    params[p] = new
    return calls


_SKIP = object()


def single_turn_variants(category: str, entry: dict, answer, rng: random.Random) -> list[tuple[str, object, str | None]]:
    """(label, decoded output, decode error) triples for one single-turn entry."""
    some_doc = entry["function"][0] if entry["function"] else {"name": "zq_function", "parameters": {}}
    some_call = {some_doc["name"]: {p: _wrong_type("x") for p in some_doc["parameters"].get("required", [])}}
    if answer is None:  # irrelevance / relevance
        return [
            ("empty", [], None),
            ("decode_error", None, "invalid syntax"),
            ("call", [some_call], None),
            ("call_no_args", [{some_doc["name"]: {}}], None),
            ("empty_dict", [{}], None),
            ("bad_format", [{"a": 1, "b": 2}], None),
            ("text", "I cannot help with that.", None),
        ]
    correct = _correct_calls(category, entry, answer)
    out = [("correct", correct, None)]

    def add(label, calls):
        if calls is not None:
            out.append((label, calls, None))

    alt = _correct_calls(category, entry, answer, choose=lambda opts: _pick(rng.choice([o for o in opts if o != ""])))
    add("other_accepted", alt)
    add("wrong_value", _mutate_param(correct, rng, lambda v: _wrong_value(v, rng)))
    add("wrong_type", _mutate_param(correct, rng, _wrong_type))
    add("string_variant", _mutate_param(correct, rng, lambda v: _string_variant(v, rng) if isinstance(v, str) else _SKIP))
    add("int_for_float", _mutate_param(correct, rng, lambda v: int(v) if isinstance(v, float) else _SKIP))
    add("float_for_int", _mutate_param(correct, rng, lambda v: float(v) if type(v) is int else _SKIP))
    add("nested_string_variant", _mutate_param(correct, rng, lambda v: [x.title() if isinstance(x, str) else x for x in v] if isinstance(v, list) and v else _SKIP))

    # A required parameter left out; an unknown one added; an optional one left out.
    dropped = copy.deepcopy(correct)
    name, params = next(iter(dropped[0].items()))
    required = [p for p in (_doc(entry, name) or {"parameters": {}})["parameters"].get("required", []) if p in params]
    if required:
        del params[rng.choice(required)]
        add("missing_required", dropped)
    extra = copy.deepcopy(correct)
    next(iter(extra[-1].values()))["zq_extra"] = 1
    add("extra_param", extra)
    optional = copy.deepcopy(correct)
    name, params = next(iter(optional[0].items()))
    accepted = next(iter(answer[0].values()))
    droppable = [p for p in params if "" in accepted.get(p, [])]
    if droppable:
        del params[rng.choice(droppable)]
        add("optional_omitted", optional)
    unasked = copy.deepcopy(correct)
    name, params = next(iter(unasked[0].items()))
    doc = _doc(entry, name)
    if doc:
        undeclared = [p for p in doc["parameters"]["properties"] if p not in accepted]
        if undeclared:
            params[rng.choice(undeclared)] = "zq"
            add("param_not_in_answer", unasked)

    renamed = copy.deepcopy(correct)
    name = next(iter(renamed[0]))
    renamed[0] = {name + "_v2": renamed[0][name]}
    add("wrong_name", renamed)
    dotted = copy.deepcopy(correct)
    name = next(iter(dotted[0]))
    if "." in name:
        dotted[0] = {name.replace(".", "_"): dotted[0][name]}
        add("underscored_name", dotted)
    if len(correct) > 1:
        add("reordered", list(reversed(correct)))
        shuffled = correct[:]
        rng.shuffle(shuffled)
        add("shuffled", shuffled)
        add("one_call_missing", correct[:-1])
    add("duplicated_call", correct + correct[:1])
    # Element types, collections and literal syntax.
    add("nested_element_as_string", _mutate_param(correct, rng, lambda v: [str(x) for x in v] if isinstance(v, list) and v else _SKIP))
    add("empty_list", _mutate_param(correct, rng, lambda v: [] if isinstance(v, list) else _SKIP))
    add("list_truncated", _mutate_param(correct, rng, lambda v: v[:-1] if isinstance(v, list) and v else _SKIP))
    add("dict_key_dropped", _mutate_param(correct, rng, lambda v: dict(list(v.items())[1:]) if isinstance(v, dict) and v else _SKIP))
    add("dict_value_variant", _mutate_param(correct, rng, lambda v: {k: (x.upper() if isinstance(x, str) else x) for k, x in v.items()} if isinstance(v, dict) and v else _SKIP))
    add("none_value", _mutate_param(correct, rng, lambda v: None))
    add("bool_for_int", _mutate_param(correct, rng, lambda v: bool(v) if type(v) is int else _SKIP))
    if category in ("java", "javascript"):
        add("literal_quoted", _mutate_param(correct, rng, lambda v: f'"{v}"' if isinstance(v, str) else _SKIP))
        add("literal_single_quoted", _mutate_param(correct, rng, lambda v: f"'{v}'" if isinstance(v, str) else _SKIP))
        add("literal_suffix_dropped", _mutate_param(correct, rng, lambda v: v.rstrip("fFlLn") if isinstance(v, str) and v[-1:] in "fFlLn" else _SKIP))
        add("literal_spaced", _mutate_param(correct, rng, lambda v: f" {v} " if isinstance(v, str) else _SKIP))
    out.append(("empty", [], None))
    out.append(("decode_error", None, "invalid syntax"))
    add("bad_format", [{"a": 1, "b": 2}])
    add("args_not_dict", [{next(iter(correct[0])): "x=1"}])
    return out


def multi_turn_variants(category: str, entry: dict, answer, rng: random.Random) -> list[tuple[str, object, str | None]]:
    env = MultiTurnEnv(entry)
    truth = [answer_calls(env, sources) for sources in answer]
    one_step = [[calls] if calls else [] for calls in truth]
    out = [("correct_one_step", one_step, None),
           ("correct_step_per_call", [[[c] for c in calls] for calls in truth], None)]
    busy = [t for t, calls in enumerate(truth) if calls]
    all_calls = [(t, i) for t in busy for i in range(len(truth[t]))]

    def variant(label, fn):
        turns = copy.deepcopy(truth)
        if fn(turns) is not False:
            out.append((label, [[calls] if calls else [] for calls in turns], None))

    if all_calls:
        t, i = rng.choice(all_calls)
        variant("call_dropped", lambda turns: turns[t].pop(i))
        t2, i2 = rng.choice(all_calls)

        def perturb(turns):
            args = turns[t2][i2]["arguments"]
            if not args:
                return False
            key = rng.choice(sorted(args))
            args[key] = _wrong_value(args[key], rng)
        variant("argument_changed", perturb)

        def unknown_kwarg(turns):
            turns[t2][i2]["arguments"]["zq_extra"] = 1
        variant("unknown_argument", unknown_kwarg)

        def duplicate(turns):
            turns[t2].insert(i2, copy.deepcopy(turns[t2][i2]))
        variant("call_duplicated", duplicate)

        def unknown_function(turns):
            turns[t2].insert(i2, {"name": "zq_function", "arguments": {"x": 1}})
        variant("unknown_function_added", unknown_function)

        def blocked(turns):
            turns[t2].append({"name": "exit", "arguments": {}})
        variant("blocked_name_added", blocked)

        def string_arguments(turns):
            turns[t2][i2]["arguments"] = json.dumps(turns[t2][i2]["arguments"])
        variant("arguments_as_json_string", string_arguments)

        t3 = rng.choice(busy)
        variant("turn_empty", lambda turns: turns[t3].clear())
        variant("turn_reversed", lambda turns: turns[t3].reverse())
        if t3 + 1 < len(truth):
            variant("turn_calls_moved_earlier", lambda turns: (turns[t3].extend(turns[t3 + 1]), turns[t3 + 1].clear()))
    idle = [t for t, calls in enumerate(truth) if not calls]
    if idle and all_calls:
        t4 = rng.choice(idle)
        t5, i5 = rng.choice(all_calls)
        variant("acts_when_should_decline", lambda turns: turns[t4].append(copy.deepcopy(truth[t5][i5])))
    if all_calls:
        t6, i6 = rng.choice(all_calls)

        def method_text_in_string(turns):
            # The official runner rewrites `method(` inside string arguments too.
            args = turns[t6][i6]["arguments"]
            keys = [k for k, v in args.items() if isinstance(v, str)]
            if not keys:
                return False
            args[rng.choice(keys)] += rng.choice([" then ls()", "\ncd (x)", " mean( 1 )", " zq_fn()"])
        variant("method_text_in_string", method_text_in_string)
        variant("qualified_name", lambda turns: turns[t6].__setitem__(
            i6, {**turns[t6][i6], "name": f"{entry['involved_classes'][0]}.{turns[t6][i6]['name']}"}))
        variant("bad_keyword", lambda turns: turns[t6][i6]["arguments"].update({"bad-key": 1}))
        variant("infinite_argument", lambda turns: turns[t6][i6]["arguments"].update({"zq": float("inf")}))
        variant("builtin_called", lambda turns: turns[t6].insert(i6, {"name": "len", "arguments": {}}))
    out.append(("too_few_turns", one_step[:-1], None))
    out.append(("no_output", None, "inference failed"))
    out.append(("undecodable_step", [[[{"arguments": {}}]] + steps for steps in one_step], None))
    return out


def generated_cases(categories: list[str], limit: int | None, seed: int) -> list[dict]:
    cases = []
    for category in categories:
        entries = load_entries(category)[:limit]
        answers = load_answers(category)
        for index, entry in enumerate(entries):  # ids are not unique (live_relevance_3-3-0 twice)
            rng = random.Random(f"{seed}-{entry['id']}")
            answer = answers.get(entry["id"])
            maker = multi_turn_variants if data.is_multi_turn(category) else single_turn_variants
            for batch, (label, output, error) in enumerate(maker(category, entry, answer, rng)):
                cases.append({"category": category, "id": entry["id"], "index": index, "batch": batch, "label": label,
                              "output": output, "decode_error": error})
    return cases


