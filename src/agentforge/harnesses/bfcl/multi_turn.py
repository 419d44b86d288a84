"""BFCL multi-turn: the execution environment a harness drives, and the official checker's verdict.

Environment. An entry names backend classes (file system, trading bot, ...;
the official ones, loaded from the wheel) and their initial state. The
official runner turns each tool call into Python source,
`name(k1=repr(v1),k2=repr(v2))`, prefixes every known method name in that
text with the instance's variable name, and `eval`s it. We reproduce what
that produces without `eval`: the same source text and the same rewrite
(which also touches method-name-followed-by-`(` inside string arguments, and
the instance variable name includes the model name, so it is reproduced too),
parsed with Python's parser (same syntax errors) and evaluated by a small
interpreter that only knows literals, the backend methods and a few pure
builtins. Results are strings exactly as officially: `str` as is, a `dict`
as JSON, anything else `str()`, an exception as `Error during execution: <e>`.
A call whose text cannot be touched by the rewrite (plain method name, ASCII
identifier keywords, JSON values without "(" or non-finite floats) skips the
text round trip and calls the method directly: same effect, much cheaper.
Known difference: a call to a Python builtin or module global other than
those few (`open`, `print`, `json`, ...) gets a NameError message here where
the official `eval` would run it.

Checker (the official `multi_turn_checker` as the runner calls it): the
model's turns must be as many as the answer's (otherwise the run was
force-terminated); steps without calls are dropped; per turn, the model's
steps run on one set of instances and the answer's calls on another; for a
turn whose answer is not empty the model must have made a call, every public
attribute of every instance must equal the answer's, and every result of the
answer's calls of that turn must appear among the model's results of all
turns so far (as a multiset, any order). Turns whose answer is empty (the
model should decline: missing parameter or function) are not checked; the
official irrelevance check for them is switched off in the official runner.
A call that the episode stopped (env_worker: time limit, or its process died)
carries its recorded result under `STOPPED`; the checker counts that result and
runs nothing, as the call changed nothing in the episode either.
The backends are deterministic, so the answer's side runs once per entry and
is kept (`TruthRun`); fresh backends come from pickled initial ones, each
unpickled only when the model uses it; and while the model's calls are the
answer's calls, nothing runs at all (see check_multi_turn).
"""

from __future__ import annotations

import ast
import inspect
import json
import keyword
import math
import pickle
import re
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentforge.harnesses.bfcl.checker import Verdict
from agentforge.harnesses.bfcl.data import backend_class, backends_importable, category_of, is_long_context

# The official runner force-quits an entry once a turn has executed more than
# this many steps (a step = one model response that decoded to >= 1 call; the
# response without calls that ends a turn does not count). The 21st executed
# step is the last; no later turn runs, so unless that was the last turn the
# entry fails as force-terminated (its turn count is short). A force-quit in
# the last turn is scored like any other episode.
MAX_STEPS_PER_TURN = 20

DEFAULT_MODEL_NAME = "agentforge"

_STATELESS = {"MathAPI"}  # built without an initial scenario
_BLOCKED = {"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"}
_CALLABLE_NAME = re.compile(r"\b([a-zA-Z_]\w*)\s*(?=\()")
# Pure builtins a model's call may name; the official eval would run them too.
_BUILTINS = {f.__name__: f for f in (abs, bin, bool, chr, float, hex, int, len, oct, ord, repr, round, str, type)}
_MAX_INT_BITS = 14000  # repr() of a longer int raises (CPython's 4300-digit limit)
STOPPED = "stopped"  # key of a recorded call's result when the episode stopped it (see env_worker)


class _Unsupported(Exception):
    """Source the official eval would run but this interpreter does not (never valid tool calls)."""


def step_limit_reached(executed_steps: int) -> bool:
    """True once a turn has executed more steps than the official runner allows."""
    return executed_steps > MAX_STEPS_PER_TURN


def stopped_result(why: str) -> str:
    """The result of a call stopped before it finished; written as the official runner writes an exception."""
    return f"Error during execution: the call was stopped ({why}); it changed nothing"


def instance_variable(model_name: str, entry_id: str, class_name: str) -> str:
    """The global variable name the official runner gives a backend instance."""
    safe = model_name.replace("-", "_").replace(".", "_").replace("/", "_")
    return f"{safe}_{entry_id}_{class_name.lower()}_instance"


def call_source(name: str, arguments: dict | str) -> str:
    """Tool call -> the Python source the official FC decoder makes of it (raises if undecodable)."""
    if type(arguments) is str:
        arguments = json.loads(arguments)
    return f"{name}({','.join(f'{k}={v!r}' for k, v in arguments.items())})"


def _plain(value: Any) -> bool:
    """A JSON value whose repr round-trips and holds no "(" for the rewrite to touch."""
    kind = type(value)
    if kind is str:
        return "(" not in value
    if value is None or kind is bool:
        return True
    if kind is int:
        return value.bit_length() < _MAX_INT_BITS
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and "(" not in k and _plain(v) for k, v in value.items())
    return False


def _direct_ok(name: Any, arguments: Any) -> bool:
    """True when calling the method directly is indistinguishable from the official text round trip."""
    return (
        type(name) is str and name.isidentifier() and name.isascii() and not keyword.iskeyword(name)
        and type(arguments) is dict
        and all(type(k) is str and k.isidentifier() and k.isascii() and not keyword.iskeyword(k) for k in arguments)
        and all(_plain(v) for v in arguments.values())
    )


def _fresh(value: Any) -> Any:
    # eval builds new objects from the literals; a backend may keep or mutate what it gets.
    kind = type(value)
    if kind is list:
        return [_fresh(v) for v in value]
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return value


def _as_result(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except Exception:
            return str(value)
    return str(value)


@lru_cache(maxsize=None)
def _public_methods(cls: type) -> tuple[str, ...]:
    # What the official runner maps: bound methods of an instance not starting with "_".
    return tuple(name for name, _ in inspect.getmembers(cls(), predicate=inspect.ismethod) if not name.startswith("_"))


@lru_cache(maxsize=None)
def _method_classes(class_names: tuple[str, ...]) -> dict[str, str]:
    return {method: c for c in class_names for method in _public_methods(backend_class(c))}


def _signature(entry: dict) -> tuple:
    # What the initial backends depend on; kept beside memos keyed by entry id so that
    # an edited entry with the same id is never served a stale memo (== is cheap).
    return entry["involved_classes"], entry["initial_config"], entry.get("long_context")


_templates: dict[str, tuple[tuple, dict[str, bytes]]] = {}


def _unpickle(blob: bytes) -> Any:
    backends_importable()  # pickled backends name the wheel's modules
    return pickle.loads(blob)


def initial_backends(entry: dict) -> dict[str, bytes]:
    """{class name: pickled instance in the entry's initial state}, built once per entry.

    One pickle per class: instances of different classes share nothing, and an
    environment then only unpickles the classes a model actually uses."""
    signature = _signature(entry)
    memo = _templates.get(entry["id"])
    if memo is not None and memo[0] == signature:
        return memo[1]
    long_context = entry.get("long_context", is_long_context(category_of(entry["id"])))
    blobs = {}
    for class_name in entry["involved_classes"]:
        instance = backend_class(class_name)()
        if class_name not in _STATELESS:
            instance._load_scenario(deepcopy(entry["initial_config"].get(class_name, {})), long_context=long_context)
        blobs[class_name] = pickle.dumps(instance, protocol=pickle.HIGHEST_PROTOCOL)
    _templates[entry["id"]] = (deepcopy(signature), blobs)
    return blobs


class MultiTurnEnv:
    """The backends of one multi-turn entry; state persists across calls and turns.

    `model_name` only shapes the instance variable names (see the module doc);
    `eval_run` adds the suffix the official checker adds; `initial` gives the
    initial backends (`initial_backends`) instead of building them from the entry.
    An instance comes to life on first use; `instances` brings all of them.
    """

    def __init__(self, entry: dict, *, model_name: str = DEFAULT_MODEL_NAME, eval_run: bool = False,
                 initial: dict[str, bytes] | None = None) -> None:
        self.entry_id: str = entry["id"]
        name = model_name + "_eval" if eval_run else model_name
        self._blobs = initial if initial is not None else initial_backends(entry)
        self._live: dict[str, Any] = {}  # class name -> instance, once used
        self._method_class = _method_classes(tuple(self._blobs))  # method -> class (a later class wins)
        self._variable_class = {instance_variable(name, self.entry_id, c): c for c in self._blobs}
        self._class_variable = {c: v for v, c in self._variable_class.items()}

    @property
    def instances(self) -> dict[str, Any]:
        return {class_name: self.instance(class_name) for class_name in self._blobs}

    def instance(self, class_name: str) -> Any:
        live = self._live.get(class_name)
        if live is None:
            live = self._live[class_name] = _unpickle(self._blobs[class_name])
        return live

    def used(self, class_name: str) -> bool:
        """Whether the instance has come to life (an unused one is in its initial state)."""
        return class_name in self._live

    def execute(self, name: str, arguments: dict | str) -> str:
        """Run one tool call; never raises: failures come back as the official error strings."""
        try:
            if type(arguments) is str:
                arguments = json.loads(arguments)
            if _direct_ok(name, arguments) and name in self._method_class:
                return self._call_direct(name, arguments)
            source = call_source(name, arguments)
        except Exception as e:
            return f"Error during execution: {e}"
        return self.execute_source(source)

    def execute_step(self, calls: list[dict]) -> list[str]:
        """Run one model response's calls ({"name", "arguments"} each), in order."""
        return [self.execute(c.get("name", ""), c.get("arguments", {})) for c in calls]

    def _call_direct(self, name: str, arguments: dict) -> str:
        if name in _BLOCKED:
            return f"Error during execution: Function call {name} is not allowed."
        try:
            return _as_result(getattr(self.instance(self._method_class[name]), name)(**_fresh(arguments)))
        except Exception as e:
            return f"Error during execution: {e}"

    def execute_source(self, source: str) -> str:
        """Run one call written as Python source (how the answers are written)."""
        source = _CALLABLE_NAME.sub(self._qualify, source)
        head = source.split("(")[0] if "(" in source else source
        if "." in head:
            head = head.split(".")[1]
        if head in _BLOCKED:
            return f"Error during execution: Function call {head} is not allowed."
        try:
            tree = ast.parse(source, filename="<string>", mode="eval")
            try:
                result = self._eval(tree.body)
            except _Unsupported as e:
                compile(tree, "<string>", "eval")  # a compile-stage error, if any, is what eval would report
                raise Exception(f"unsupported expression {e}") from None
        except Exception as e:
            return f"Error during execution: {e}"
        return _as_result(result)

    def state(self) -> dict[str, dict]:
        """Public attributes of each instance (what the checker compares)."""
        return {name: public_state(inst) for name, inst in self.instances.items()}

    def _qualify(self, match: re.Match) -> str:
        method = match.group(1)
        owner = self._method_class.get(method)
        return f"{self._class_variable[owner]}.{method}" if owner else method

    def _eval(self, node: ast.AST) -> Any:
        # Python's own evaluation order: callee, positional args, keyword values.
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self._variable_class:
                return self.instance(self._variable_class[node.id])
            if node.id in _BUILTINS:
                return _BUILTINS[node.id]
            raise NameError(f"name '{node.id}' is not defined")
        if isinstance(node, ast.Call):
            func = self._eval(node.func)
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise _Unsupported("*args/**kwargs")
            args = [self._eval(a) for a in node.args]
            kwargs = {k.arg: self._eval(k.value) for k in node.keywords}
            return func(*args, **kwargs)
        if isinstance(node, ast.Attribute):
            owner = self._eval(node.value)
            if not any(owner is inst for inst in self._live.values()):
                raise _Unsupported("attribute of a non-backend value")
            return getattr(owner, node.attr)
        if isinstance(node, ast.List):
            return [self._eval(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self._eval(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self._eval(e) for e in node.elts}
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise _Unsupported("**mapping")
            return {self._eval(k): self._eval(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            operand = self._eval(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            return +operand if isinstance(node.op, ast.UAdd) else not operand
        raise _Unsupported(type(node).__name__)


def public_state(instance: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(instance).items() if not k.startswith("_")}


def _differing(model: Any, expected: dict[str, Any]) -> list[str]:
    # The official direction: the model's value on the left of !=.
    return [attr for attr, value in expected.items() if getattr(model, attr) != value]


# ---------------------------------------------------------------- the answer's side, run once

@dataclass
class TruthRun:
    """The answer's calls run turn by turn, kept for scoring many outputs of one entry.

    Per turn: the results, and, for a turn whose answer is not empty, each
    instance's public attributes (pickled one by one; an attribute unchanged
    since the previous turn shares its bytes object, so a check unpickles it
    once) and how they differ from the initial state (the verdict on an
    instance the model never used). Plus the initial backends."""

    results: list[list[str]]
    keys: list[list[tuple | None]]  # each answer call as _call_key (None: not comparable that way)
    states: list[dict[str, dict[str, bytes]] | None]
    differs_from_initial: list[dict[str, list[str]] | None]
    model_name: str | None  # set when a result depends on the model name (the rewrite hit an argument)
    initial: dict[str, bytes]


def run_truth(entry: dict, answer: list[list[str]], *, model_name: str = DEFAULT_MODEL_NAME) -> TruthRun:
    initial = initial_backends(entry)
    env = MultiTurnEnv(entry, model_name=model_name + "_ground_truth", eval_run=True, initial=initial)
    pristine = {name: _unpickle(blob) for name, blob in initial.items()}
    results, keys, states, differs, touched = [], [], [], [], False
    last: dict[tuple[str, str], bytes] = {}
    for calls in answer:
        keys.append([_answer_key(env, source) for source in calls])
        results.append([env.execute_source(source) for source in calls])
        touched = touched or any(len(_CALLABLE_NAME.findall(source)) > 1 for source in calls)
        if not calls:
            states.append(None)
            differs.append(None)
            continue
        public = {name: public_state(inst) for name, inst in env.instances.items()}
        snapshot: dict[str, dict[str, bytes]] = {}
        for name, attrs in public.items():
            snapshot[name] = {}
            for attr, value in attrs.items():
                blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                if last.get((name, attr)) == blob:
                    blob = last[(name, attr)]  # the same object: unpickled once per check
                snapshot[name][attr] = last[(name, attr)] = blob
        states.append(snapshot)
        differs.append({name: _differing(pristine[name], attrs) for name, attrs in public.items()})
    return TruthRun(results, keys, states, differs, model_name if touched else None, initial)


def answer_calls(env: MultiTurnEnv, sources: list[str]) -> list[dict]:
    """One turn's ground-truth call sources as {"name", "arguments"} calls, positional
    arguments named by the method's signature (the gold calls of a step)."""
    calls = []
    for source in sources:
        node = ast.parse(source, mode="eval").body
        name = node.func.id
        owner = next(i for i in env.instances.values() if hasattr(i, name))
        params = list(inspect.signature(getattr(owner, name)).parameters)
        arguments = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
        arguments.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
        calls.append({"name": name, "arguments": arguments})
    return calls


def _call_key(name: str, arguments: dict) -> tuple:
    """Calls with equal keys do the same thing: same method, same arguments by name,
    values equal as JSON text (so 1, 1.0 and True differ, as they may to a backend)."""
    return name, tuple(sorted((k, json.dumps(v)) for k, v in arguments.items()))


def _answer_key(env: MultiTurnEnv, source: str) -> tuple | None:
    """An answer call's key, its positional arguments named by the method's signature."""
    try:
        node = ast.parse(source, mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.func.id not in env._method_class:
            return None
        name = node.func.id
        params = list(inspect.signature(getattr(backend_class(env._method_class[name]), name)).parameters.values())[1:]
        if len(node.args) > len(params) or any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in params[: len(node.args)]):
            return None
        arguments = {params[i].name: ast.literal_eval(a) for i, a in enumerate(node.args)}
        for k in node.keywords:
            if k.arg is None or k.arg in arguments:
                return None
            arguments[k.arg] = ast.literal_eval(k.value)
        return _call_key(name, arguments) if _direct_ok(name, arguments) else None
    except Exception:
        return None


_truths: dict[str, tuple[tuple, TruthRun]] = {}


def remember_truth(entry: dict, answer: list[list[str]], truth: TruthRun) -> None:
    """Make a precomputed TruthRun (e.g. from a disk cache) available to check_multi_turn."""
    _truths[entry["id"]] = (deepcopy((_signature(entry), answer)), truth)


def _truth_for(entry: dict, answer: list[list[str]], model_name: str) -> TruthRun:
    memo = _truths.get(entry["id"])
    if memo is not None and memo[0] == (_signature(entry), answer):
        truth = memo[1]
        if truth.model_name is None or truth.model_name == model_name:
            return truth
    truth = run_truth(entry, answer, model_name=model_name)
    remember_truth(entry, answer, truth)
    return truth


# ---------------------------------------------------------------- the checker

def _decode_turns(model_calls: list) -> list[list[list[tuple]]]:
    """Per turn, per step, the calls as ("direct", name, args), ("source", text) or
    ("stopped", result); steps that fail to decode or hold no call are dropped, as officially."""
    turns = []
    for turn in model_calls:
        steps = []
        for step in turn if type(turn) is list else []:
            try:
                calls = []
                for call in step:
                    if type(call) is dict and type(call.get(STOPPED)) is str:
                        calls.append(("stopped", call[STOPPED]))
                        continue
                    name, arguments = call["name"], call["arguments"]
                    if type(arguments) is str:
                        arguments = json.loads(arguments)
                    if _direct_ok(name, arguments):
                        calls.append(("direct", name, arguments))
                    else:
                        calls.append(("source", call_source(name, arguments)))
            except Exception:
                continue
            if calls:
                steps.append(calls)
        turns.append(steps)
    return turns


def _run(env: MultiTurnEnv, call: tuple) -> str:
    if call[0] == "stopped":
        return call[1]
    if call[0] == "direct" and call[1] in env._method_class:
        return env._call_direct(call[1], call[2])
    if call[0] == "direct":
        return env.execute_source(call_source(call[1], call[2]))
    return env.execute_source(call[1])


def check_multi_turn(entry: dict, model_calls: Any, answer: list[list[str]], *, model_name: str = DEFAULT_MODEL_NAME,
                     truth: TruthRun | None = None) -> Verdict:
    """Verdict on a multi-turn episode: `model_calls` is list[turn] of list[step] of
    list[{"name": str, "arguments": dict}]; `answer` the entry's ground truth.
    `truth`: the answer's run if the caller has it (else it is run once and memoized)."""
    if type(model_calls) is not list:
        return Verdict(False, "multi_turn:inference_error", ["no list of turns (inference failed)"])
    if len(model_calls) != len(answer):
        return Verdict(False, "multi_turn:force_terminated",
                       [f"{len(model_calls)} turns for {len(answer)} expected (force-terminated)"])
    turns = _decode_turns(model_calls)
    if truth is None or (truth.model_name is not None and truth.model_name != model_name):
        truth = _truth_for(entry, answer, model_name)
    model_env = MultiTurnEnv(entry, model_name=model_name, eval_run=True, initial=truth.initial)
    results_so_far: Counter[str] = Counter()
    unpickled: dict[int, Any] = {}  # id(blob) -> value, for attributes unchanged across turns

    # While the model's calls are the answer's calls in the answer's order, its
    # backends are in the answer's state and its results are the answer's (the
    # backends are deterministic), so nothing needs to run: the matched calls
    # are held back and replayed only once the model departs from the answer.
    answer_keys = [key for turn in truth.keys for key in turn]
    answer_results = [result for turn in truth.results for result in turn]
    through = [sum(len(turn) for turn in answer[: t + 1]) for t in range(len(answer))]
    in_step = truth.model_name is None and None not in answer_keys
    held: list[tuple] = []

    def catch_up() -> None:
        nonlocal in_step
        for call in held:
            _run(model_env, call)  # their results are already counted
        held.clear()
        in_step = False

    for index, expected_calls in enumerate(answer):
        steps = turns[index]
        for step in steps:
            for call in step:
                if in_step:
                    at = len(held)
                    if (call[0] == "direct" and at < len(answer_keys) and call[1] in model_env._method_class
                            and _call_key(call[1], call[2]) == answer_keys[at]):
                        held.append(call)
                        results_so_far[answer_results[at]] += 1
                        continue
                    catch_up()
                results_so_far[_run(model_env, call)] += 1
        if not expected_calls:
            continue  # the model should decline here; not checked officially
        if not steps:
            return Verdict(False, "multi_turn:empty_turn_model_response", [f"no call in turn {index}"])
        if in_step and len(held) == through[index]:
            continue  # exactly the answer's calls so far: same state, same results
        if in_step:
            catch_up()
        mismatch = _state_mismatch(model_env, truth, index, unpickled)
        if mismatch:
            return Verdict(False, "multi_turn:instance_state_mismatch", [f"turn {index}: {mismatch}"])
        missing = Counter(truth.results[index]) - results_so_far
        if missing:
            return Verdict(False, "multi_turn:execution_response_mismatch",
                           [f"turn {index}: results never produced: {list(missing.elements())!r}"])
    return Verdict(True)


def _state_mismatch(model_env: MultiTurnEnv, truth: TruthRun, turn: int, unpickled: dict[int, Any]) -> str:
    for class_name, blobs in truth.states[turn].items():
        if not model_env.used(class_name):
            differing = truth.differs_from_initial[turn][class_name]
        else:
            backends_importable()
            model = model_env.instance(class_name)
            differing = []
            for attr, blob in blobs.items():
                value = unpickled.get(id(blob), _MISSING)
                if value is _MISSING:
                    value = unpickled[id(blob)] = pickle.loads(blob)
                if getattr(model, attr) != value:  # the official direction: model on the left
                    differing.append(attr)
        if differing:
            return f"{class_name} differs in {', '.join(differing)}"
    return ""


_MISSING = object()
