"""Raw model texts for the BFCL agreement check: decoded call lists rendered the
way a model writes them (prompt mode: a pythonic list; FC mode: Hermes
`<tool_call>` blocks), plus format variants of the correct answer: the ways
models wrap, space, nest and misspell their calls. Both deciders (ours and the
official package) then decode the same text.
"""

from __future__ import annotations

import json
import random

_STRING_TYPES = {"string", "String", "char"}


def _literal(value, declared: str, language: str) -> str:
    """A Java/JavaScript argument as its source text: string-typed values quoted,
    other values (already language literals) verbatim."""
    if not isinstance(value, str):
        return repr(value)
    if declared in _STRING_TYPES:
        return json.dumps(value) if language == "Java" else "'" + value.replace("'", "\\'") + "'"
    return value


def render_call(name, params, language: str = "Python", declared: dict | None = None,
                value=None, positional: int = 0) -> str:
    """`name(k=v, ...)`; the first `positional` arguments without their keyword."""
    if not isinstance(params, dict):
        return f"{name}({params!r})"
    parts = []
    for i, (k, v) in enumerate(params.items()):
        text = value(k, v) if value else (
            repr(v) if language == "Python" else _literal(v, (declared or {}).get(k, "any"), language))
        parts.append(text if i < positional else f"{k}={text}")
    return f"{name}({', '.join(parts)})"


def _declared(entry: dict, name: str) -> dict:
    doc = next((d for d in entry.get("function", []) if d["name"] == name), None)
    props = doc["parameters"].get("properties", {}) if doc else {}
    return {k: p.get("type", "any") for k, p in props.items()}


def prompt_text(entry: dict, output, language: str) -> str:
    """A decoded output as the plain prompt-mode text `[f(a=1), g(b='x')]`."""
    if not isinstance(output, list):
        return repr(output)
    calls = []
    for call in output:
        if not isinstance(call, dict) or len(call) != 1:
            calls.append(repr(call))
            continue
        (name, params), = call.items()
        calls.append(render_call(name, params, language, _declared(entry, name)))
    return "[" + ", ".join(calls) + "]"


def hermes_block(obj) -> str:
    return "<tool_call>\n" + json.dumps(obj) + "\n</tool_call>"


def fc_text(output) -> str:
    """A decoded output as Hermes tool-call blocks (FC mode's raw text)."""
    if not isinstance(output, list):
        return json.dumps(output)
    blocks = []
    for call in output:
        if isinstance(call, dict) and len(call) == 1:
            (name, params), = call.items()
            blocks.append(hermes_block({"name": name, "arguments": params}))
        else:
            blocks.append(hermes_block(call))
    return "\n".join(blocks)


def prompt_variants(entry: dict, correct: list[dict], language: str, rng: random.Random) -> list[tuple[str, str]]:
    """(label, raw text) format variants of the correct call list, prompt mode."""
    plain = prompt_text(entry, correct, language)
    inner = plain[1:-1]
    lines = [render_call(n, p, language, _declared(entry, n)) for c in correct for n, p in c.items()]
    out = [
        ("fmt_plain", plain), ("fmt_bare", inner), ("fmt_spaced", f"[ {inner} ]"),
        ("fmt_multiline", "[\n    " + ",\n    ".join(lines) + "\n]"),
        ("fmt_fenced_python", f"```python\n{plain}\n```"), ("fmt_fenced", f"```\n{plain}\n```"),
        ("fmt_inline_code", f"`{plain}`"), ("fmt_prose_before", f"Sure, here is the call: {plain}"),
        ("fmt_prose_after", f"{plain}\nLet me know if you need anything else."),
        ("fmt_double_brackets", f"[{plain}]"), ("fmt_think", f"<think>\nThe user wants this.\n</think>\n\n{plain}"),
        ("fmt_think_unclosed", f"<think>\nThe user wants this.\n\n{plain}"),
        ("fmt_one_per_line", "\n".join(lines)), ("fmt_semicolon", plain + ";"), ("fmt_quoted", f"'{plain}'"),
        ("fmt_tuple", f"({inner})"), ("fmt_set", "{" + inner + "}"), ("fmt_tab", f"\t{plain}"),
        ("fmt_crlf", plain + "\r\n"), ("fmt_trailing_comma", f"[{inner},]"),
        ("fmt_empty_list", "[]"), ("fmt_prose_only", "None of the functions can answer this question."),
        ("fmt_def_prose", "To answer this I would write:\n" + "\n".join(
            f"def {n}({', '.join(p) if isinstance(p, dict) else ''}):\n    pass" for c in correct for n, p in c.items())),
    ]
    name, params = next(iter(correct[0].items()))
    declared = _declared(entry, name)
    rest = [render_call(n, p, language, _declared(entry, n)) for c in correct[1:] for n, p in c.items()]

    def with_first(call_text: str) -> str:
        return "[" + ", ".join([call_text] + rest) + "]"

    if isinstance(params, dict) and params:
        out.append(("fmt_positional", with_first(render_call(name, params, language, declared, positional=1))))
        out.append(("fmt_all_positional", with_first(render_call(name, params, language, declared, positional=len(params)))))
        key = rng.choice(sorted(params))

        def one(replacement):
            return lambda k, v: replacement if k == key else (
                repr(v) if language == "Python" else _literal(v, declared.get(k, "any"), language))

        out.append(("val_nested_call", with_first(render_call(name, params, language, declared, one("helper(x=1)")))))
        out.append(("val_call_no_keywords", with_first(render_call(name, params, language, declared, one("helper(1)")))))
        out.append(("val_name", with_first(render_call(name, params, language, declared, one("some_variable")))))
        out.append(("val_attribute", with_first(render_call(name, params, language, declared, one("math.pi")))))
        out.append(("val_subscript", with_first(render_call(name, params, language, declared, one("data['key']")))))
        out.append(("val_lambda", with_first(render_call(name, params, language, declared, one("lambda x: x")))))
        out.append(("val_json_literals", with_first(render_call(name, params, language, declared, one("true")))))
        out.append(("val_none", with_first(render_call(name, params, language, declared, one("None")))))
        out.append(("val_fstring", with_first(render_call(name, params, language, declared, one("f'{1}'")))))
        out.append(("val_duplicate_keyword", with_first(render_call(name, params, language, declared)[:-1] + f", {key}=1)")))
        out.append(("val_kwargs_unpack", with_first(f"{name}(**{{'{key}': 1}})")))
        value = params[key]
        if language == "Python" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(("val_arithmetic", with_first(render_call(name, params, language, declared, one(f"{value - 1} + 1")))))
            out.append(("val_unary_plus", with_first(render_call(name, params, language, declared, one(f"+{abs(value)}")))))
            out.append(("val_negated", with_first(render_call(name, params, language, declared, one(f"-{abs(value)}")))))
            out.append(("val_scientific", with_first(render_call(name, params, language, declared, one(f"{float(value):e}")))))
        if language == "Python" and isinstance(value, str):
            out.append(("val_concat", with_first(render_call(name, params, language, declared, one(f"{value[:1]!r} + {value[1:]!r}")))))
            out.append(("val_double_quoted", with_first(render_call(name, params, language, declared, one(json.dumps(value))))))
        if language != "Python":
            # Python-style values for a Java/JavaScript function: '3', 'true' (strings in Python).
            out.append(("lang_python_repr", with_first(render_call(name, params, "Python"))))
            out.append(("lang_python_values", with_first(render_call(name, params, "Python", value=lambda k, v: _as_python(v)))))
            out.append(("lang_all_quoted", with_first(render_call(name, params, language, declared,
                                                                  value=lambda k, v: json.dumps(str(v))))))
    return out


def _as_python(value):
    """A Java/JS literal read as a Python value where it looks like one ('3' -> 3, 'true' -> True)."""
    if isinstance(value, str):
        if value in ("true", "false"):
            return repr(value == "true")
        try:
            return repr(int(value))
        except ValueError:
            try:
                return repr(float(value))
            except ValueError:
                return repr(value)
    return repr(value)


def fc_variants(correct: list[dict], rng: random.Random) -> list[tuple[str, str]]:
    """(label, raw text) format variants of the correct calls, FC mode (Hermes)."""
    canonical = fc_text(correct)
    objs = [{"name": n, "arguments": p} for c in correct for n, p in c.items()]
    first = objs[0]
    malformed = '<tool_call>\n{"name": "' + str(first["name"]) + '", "arguments": {"x": }\n</tool_call>'
    out = [
        ("fc_canonical", canonical),
        ("fc_no_newlines", "".join(f"<tool_call>{json.dumps(o)}</tool_call>" for o in objs)),
        ("fc_think", f"<think>\nI should call the tool.\n</think>\n\n{canonical}"),
        ("fc_prose_before", f"Let me look that up.\n{canonical}"),
        ("fc_prose_after", f"{canonical}\nDone."),
        ("fc_malformed_among_valid", canonical + "\n" + malformed),
        ("fc_malformed_only", malformed),
        ("fc_trailing_comma", canonical.replace("}\n</tool_call>", ",}\n</tool_call>", 1)),
        ("fc_list_in_block", "<tool_call>\n" + json.dumps(objs) + "\n</tool_call>"),
        ("fc_arguments_as_string", "\n".join(hermes_block({"name": o["name"], "arguments": json.dumps(o["arguments"])})
                                              for o in objs)),
        ("fc_missing_arguments", "\n".join(hermes_block({"name": o["name"]}) for o in objs)),
        ("fc_parameters_key", "\n".join(hermes_block({"name": o["name"], "parameters": o["arguments"]}) for o in objs)),
        ("fc_python_dict", "\n".join(f"<tool_call>\n{o!r}\n</tool_call>" for o in objs)),
        ("fc_fenced_in_block", "\n".join(f"<tool_call>\n```json\n{json.dumps(o)}\n```\n</tool_call>" for o in objs)),
        ("fc_padded", "\n".join(f"<tool_call>\n  {json.dumps(o)}  \n</tool_call>" for o in objs)),
        ("fc_unclosed", "\n".join(f"<tool_call>\n{json.dumps(o)}\n" for o in objs)),
        ("fc_prose_only", "I cannot help with that."),
        ("fc_pythonic_instead", "[" + ", ".join(f"{o['name']}()" for o in objs) + "]"),
        ("fc_extra_key", "\n".join(hermes_block({**o, "id": "call_1"}) for o in objs)),
        ("fc_name_not_string", hermes_block({"name": 7, "arguments": first["arguments"]})),
        ("fc_arguments_null", hermes_block({"name": first["name"], "arguments": None})),
    ]
    if len(objs) > 1:
        out.append(("fc_one_block_missing_arguments", hermes_block(objs[0]) + "\n" + hermes_block({"name": objs[1]["name"]})))
    rng.shuffle(out)
    return out
