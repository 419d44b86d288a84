"""Grammar-constrained tool calls for the embedded engine (llguidance).

With `tool_choice` "required" or a named function, the assistant turn must be
Hermes tool calls and nothing else:

    <tool_call>\\n{"name": NAME, "arguments": ARGS}\\n</tool_call>   (then EOS)

"required" allows one or more blocks separated by a newline (parallel calls,
as our chat template renders them), or exactly one with parallel calls off; a
named function allows exactly one block for that function. NAME is one of
the tools' names and ARGS a JSON object valid under that tool's `parameters`
schema, written compactly the way `json.dumps` writes it (", " and ": ", no
free whitespace: a small model given free whitespace can loop on newlines).

The grammar is a Lark grammar with one `%json{schema}` per tool; llguidance
turns it into a per-step token mask. Compiling is cached per tool list (the
key is the tools' names and schemas, the choice and the parallel switch), so
a BFCL run compiles each entry's tools once, not once per request. Each candidate sequence gets its own
matcher (a cheap deep copy of the cached, never-advanced one), wrapped in a
`Constraint` that also decides when a turn should end early (see should_end).

Schema choices, stated because they change what the model may write:
- Objects that declare `properties` and say nothing about extra keys are
  closed (`additionalProperties: false`): a function's arguments are its
  declared parameters (OpenAI strict mode does the same); small models
  otherwise invent keys that the BFCL checker rejects.
- A schema llguidance cannot compile (e.g. BFCL's raw "dict"/"float" types,
  an unknown "format") is retried with unknown keywords ignored, then as
  "any JSON object". Each fallback is logged as a warning when the tool list
  is compiled and listed in `ToolGrammar.warnings`: the call *format* stays enforced even
  when one tool's arguments cannot be.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from agentforge.runtime.messages import ToolSpec
from agentforge.runtime.parsing import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

log = logging.getLogger(__name__)

# Arguments are written the way json.dumps writes them (and our template renders them).
JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
END_MARGIN = 2  # see Constraint.should_end
CACHE_SIZE = 256  # compiled tool lists kept (a BFCL run has ~2k distinct ones; recompiling costs ~ms)

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def call_head(name: str) -> str:
    """The text of a call block up to its arguments object."""
    return f'{TOOL_CALL_OPEN}\n{{"name": {json.dumps(name, ensure_ascii=False)}, "arguments": '


def call_tail() -> str:
    return f"}}\n{TOOL_CALL_CLOSE}"


AUTO = "<auto>"  # choice: plain text or tool calls (never a tool name: "<" is not allowed in one)
# Text that never contains the call tag: llguidance regexes take & (and) and ~ (not).
FREE_TEXT = rf"/(?s:.*)/ & ~/(?s:.*){re.escape(TOOL_CALL_OPEN)}(?s:.*)/"


def constrained_choice(tools: Sequence[ToolSpec] | None, tool_choice: Any, auto: bool = False) -> str | None:
    """The tool name the turn must call, "" for any tool (required), AUTO for
    "plain text or well-formed calls" (only when `auto` is asked for), or None
    when the turn is not constrained."""
    if not tools:
        return None
    if tool_choice == "required":
        return ""
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name")
        if name:
            return name
    if auto and tool_choice in (None, "auto"):
        return AUTO
    return None


def close_objects(schema: Any) -> Any:
    """A copy of `schema` whose objects with declared properties forbid other keys
    (unless they say otherwise). Walks subschemas only, never property maps as schemas."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), dict) and "additionalProperties" not in out and "patternProperties" not in out:
        out["additionalProperties"] = False
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: close_objects(v) for k, v in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [close_objects(v) for v in out[key]]
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), (dict, list)):
            out[key] = [close_objects(v) for v in out[key]] if isinstance(out[key], list) else close_objects(out[key])
    return out


def _json_rule(schema: dict, lenient: bool = False) -> str:
    style = {**JSON_STYLE, "lenient": True} if lenient else JSON_STYLE
    return "%json" + json.dumps({**schema, "x-guidance": style}, ensure_ascii=False)


def _lark_error(lark: str) -> str | None:
    from llguidance import LLMatcher

    is_error, messages = LLMatcher.validate_grammar_with_warnings(LLMatcher.grammar_from_lark(lark))
    return messages[0] if is_error else None


def arguments_rule(tool: ToolSpec) -> tuple[str, str | None]:
    """The `%json` rule for one tool's arguments, and a warning if it had to be loosened."""
    schema = tool.function.parameters
    if not isinstance(schema, dict) or not schema:
        schema = {"type": "object"}
    return schema_rule({**schema, "type": schema.get("type", "object")}, f"tool {tool.function.name!r}: arguments")


def schema_rule(schema: dict, what: str, loosen: bool = True) -> tuple[str, str | None]:
    """The `%json` rule for JSON valid under `schema` (objects closed), and a
    warning naming `what` if it had to be loosened; ValueError instead when not `loosen`."""
    schema = close_objects(schema)
    strict = _json_rule(schema)
    error = _lark_error(f"start: x\nx: {strict}\n")
    if error is None:
        return strict, None
    if not loosen:
        raise ValueError(f"{what} cannot be enforced: {_first_line(error)}")
    lenient = _json_rule(schema, lenient=True)
    if _lark_error(f"start: x\nx: {lenient}\n") is None:
        return lenient, f"{what}: unsupported schema keywords ignored ({_first_line(error)})"
    loosest = {"type": schema["type"]} if schema.get("type") in ("object", "array") else {}
    return _json_rule(loosest), f"{what}: only constrained to {'a JSON ' + schema['type'] if loosest else 'JSON'} ({_first_line(error)})"


def _first_line(error: str) -> str:
    return error.strip().splitlines()[0] if error.strip() else error


def tool_call_lark(tools: Sequence[ToolSpec], choice: str, parallel: bool = True,
                   answer_rule: str | None = None) -> tuple[str, list[str]]:
    """The Lark grammar of the turn and any schema warnings. `choice` as
    returned by constrained_choice: "" = calls of any tool, one or more if
    `parallel`, else exactly one; AUTO = either plain text without the call
    tag or such calls (text before a call is not allowed: llguidance's lexer
    cannot end a free-text lexeme where a call begins). `answer_rule` (with
    choice ""): the turn is such calls or an answer matching that rule (a
    response_format)."""
    auto = choice == AUTO
    chosen = [t for t in tools if not choice or auto or t.function.name == choice]
    if not chosen:
        raise ValueError(f"tool_choice names {choice!r}, which is not among the tools")
    rules, warnings = [], []
    for i, tool in enumerate(chosen):
        args, warning = arguments_rule(tool)
        if warning:
            warnings.append(warning)
        head = json.dumps(call_head(tool.function.name), ensure_ascii=False)
        rules.append(f"call_{i}: {head} args_{i} {json.dumps(call_tail())}\nargs_{i}: {args}")
    alternatives = " | ".join(f"call_{i}" for i in range(len(chosen)))
    calls = 'call ("\\n" call)*' if parallel and (not choice or auto) else "call"
    start = f"start: TEXT | calls\ncalls: {calls}\nTEXT: {FREE_TEXT}" if auto else f"start: {calls}"
    if answer_rule is not None and not auto:
        start = f"start: calls | answer\ncalls: {calls}\nanswer: {answer_rule}"
    return "\n".join([start, f"call: {alternatives}", *rules]) + "\n", warnings


@dataclass
class Constraint:
    """One sequence's grammar state, used by the engine thread.

    Besides the matcher it tracks the longest complete call so far, for
    should_end: a parallel-call turn is ended (EOS forced) at the end of a
    call when the remaining token budget is under twice that length. Without
    it, a small model that keeps appending calls runs into max_tokens
    mid-call and the whole turn fails to parse. Twice, because calls vary
    in length: ending one call early loses a call, running out mid-call
    loses the turn."""

    matcher: Any  # llguidance.LLMatcher
    generated: int = 0
    accepting: bool = False
    accepted_at: int = 0  # tokens generated when the grammar last became complete
    longest_call: int = 0

    def consume(self, token: int) -> bool:
        """Advance by one sampled token; False if the grammar rejects it."""
        if not self.matcher.consume_token(token):
            return False
        self.generated += 1
        was, self.accepting = self.accepting, self.matcher.is_accepting()
        if self.accepting and not was:
            self.longest_call = max(self.longest_call, self.generated - self.accepted_at)
            self.accepted_at = self.generated
        return True

    def should_end(self, budget_left: int) -> bool:
        """True when the turn is complete and another call might not fit in
        `budget_left` tokens (the EOS included)."""
        return self.accepting and budget_left <= END_MARGIN * self.longest_call

    def error(self) -> str:
        return self.matcher.get_error()


@dataclass
class ToolGrammar:
    """A compiled tool-call grammar; `constraints` hands out per-sequence copies."""

    lark: str
    template: Any  # llguidance.LLMatcher, never advanced
    warnings: list[str] = field(default_factory=list)

    def constraints(self, n: int, prefix_ids: Sequence[int] = ()) -> list[Constraint]:
        """n independent constraints that have already consumed the forced
        prefix (the prompt's last tokens, which the grammar's text starts with)."""
        first = self.template.deep_copy()
        if prefix_ids and not first.consume_tokens(list(prefix_ids)):
            raise ValueError(f"the forced prefix does not fit the tool-call grammar: {first.get_error()}")
        return [Constraint(first.deep_copy()) for _ in range(n)]


class GrammarCompiler:
    """Compiles tool-call grammars for one tokenizer, with an LRU cache per tool list."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int, eos_ids: Sequence[int]):
        import llguidance.hf

        # ~1 s for a 49k vocabulary: built once per backend. Every EOS id ends an accepted turn.
        self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size, eos_token=sorted(eos_ids))
        self.vocab_size = vocab_size
        self._cache: OrderedDict[str, ToolGrammar] = OrderedDict()
        self._lock = threading.Lock()  # the event loop reads the cache while a worker thread compiles
        self.compiled = 0  # grammars actually built (cache misses)

    @staticmethod
    def _key(tools: Sequence[ToolSpec], choice: str, parallel: bool) -> str:
        spec = [[t.function.name, t.function.parameters] for t in tools]
        return json.dumps([spec, choice, parallel], sort_keys=True, default=str)

    def cached(self, tools: Sequence[ToolSpec], choice: str, parallel: bool = True) -> ToolGrammar | None:
        """The compiled grammar if this tool list and choice were seen before (cheap)."""
        key = self._key(tools, choice, parallel)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def get(self, tools: Sequence[ToolSpec], choice: str, parallel: bool = True) -> ToolGrammar:
        """The grammar for these tools and choice, compiled on a miss; raises
        ValueError if it cannot be built."""
        hit = self.cached(tools, choice, parallel)
        if hit is not None:
            return hit
        grammar = self._compile(tools, choice, parallel)
        with self._lock:
            self._cache[self._key(tools, choice, parallel)] = grammar
            self.compiled += 1
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return grammar

    def from_lark(self, lark: str, warnings: Sequence[str] = (), what: str = "grammar") -> ToolGrammar:
        """Any Lark grammar (e.g. a response_format's), compiled once and cached by its text."""
        key = "lark:" + lark
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        grammar = self._compile_lark(lark, list(warnings), what)
        with self._lock:
            self._cache[key] = grammar
            self.compiled += 1
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return grammar

    def _compile(self, tools: Sequence[ToolSpec], choice: str, parallel: bool) -> ToolGrammar:
        lark, warnings = tool_call_lark(tools, choice, parallel)
        return self._compile_lark(lark, warnings, "tool-call grammar")

    def _compile_lark(self, lark: str, warnings: list[str], what: str) -> ToolGrammar:
        from llguidance import LLMatcher

        for w in warnings:
            log.warning("constrained decoding: %s", w)
        matcher = LLMatcher(self.tokenizer, LLMatcher.grammar_from_lark(lark), log_level=0)
        if matcher.is_error():
            raise ValueError(f"{what} does not compile: {_first_line(matcher.get_error())}")
        return ToolGrammar(lark, matcher, warnings)


# ---- used by the engine thread, once per step, for the constrained rows ----


def allowed_tokens(constraints: Sequence[Constraint], vocab_size: int) -> torch.Tensor:
    """[len(constraints), vocab_size] bool: which tokens each grammar allows next.

    Each matcher writes its bitmask straight into one int32 buffer (llguidance
    releases the GIL while it computes), then all rows are unpacked at once:
    no per-token Python. One matcher after another, on the engine thread:
    llguidance's parallel executor (LLExecutor) measured slower here at batch
    8 on 2 busy cores (mean 1.9 ms vs 0.6 ms per step, with 80 ms outliers
    from thread scheduling); a mask costs well under 0.1 ms per row."""
    rows = len(constraints)
    words = (vocab_size + 31) // 32
    bitmask = torch.zeros(rows, words, dtype=torch.int32)
    base, row_bytes = bitmask.data_ptr(), words * 4
    for i, c in enumerate(constraints):
        c.matcher.unsafe_compute_mask_ptr(base + i * row_bytes, row_bytes)
    # Bit j of 32-bit word w is token 32w+j: in little-endian bytes that is bit
    # j%8 of byte 4w+j//8, which unpackbits(bitorder="little") puts at 32w+j.
    bits = np.unpackbits(bitmask.numpy().astype("<i4", copy=False).view(np.uint8), axis=1, bitorder="little")
    return torch.from_numpy(bits[:, :vocab_size]).view(torch.bool)
