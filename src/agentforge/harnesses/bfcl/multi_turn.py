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
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections import Counter
from copy import deepcopy
from typing import Any

from agentforge.harnesses.bfcl.checker import Verdict
from agentforge.harnesses.bfcl.data import backend_class, category_of, is_long_context

# The official runner force-quits an entry once a turn has executed more than
# this many steps (a step = one model response that decoded to >= 1 call; the
# response without calls that ends a turn does not count). The 21st executed
# step is the last; no later turn runs, so unless that was the last turn the
# entry fails as force-terminated (its turn count is short).
MAX_STEPS_PER_TURN = 20

DEFAULT_MODEL_NAME = "agentforge"

_STATELESS = {"MathAPI"}  # built without an initial scenario
_BLOCKED = {"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"}
_CALLABLE_NAME = re.compile(r"\b([a-zA-Z_]\w*)\s*(?=\()")
# Pure builtins a model's call may name; the official eval would run them too.
_BUILTINS = {f.__name__: f for f in (abs, bin, bool, chr, float, hex, int, len, oct, ord, repr, round, str, type)}


class _Unsupported(Exception):
    """Source the official eval would run but this interpreter does not (never valid tool calls)."""


def step_limit_reached(executed_steps: int) -> bool:
    """True once a turn has executed more steps than the official runner allows."""
    return executed_steps > MAX_STEPS_PER_TURN


def instance_variable(model_name: str, entry_id: str, class_name: str) -> str:
    """The global variable name the official runner gives a backend instance."""
    safe = model_name.replace("-", "_").replace(".", "_").replace("/", "_")
    return f"{safe}_{entry_id}_{class_name.lower()}_instance"


def call_source(name: str, arguments: dict | str) -> str:
    """Tool call -> the Python source the official FC decoder makes of it (raises if undecodable)."""
    if type(arguments) is str:
        arguments = json.loads(arguments)
    return f"{name}({','.join(f'{k}={v!r}' for k, v in arguments.items())})"


class MultiTurnEnv:
    """The backends of one multi-turn entry; state persists across calls and turns.

    `model_name` only shapes the instance variable names (see the module doc);
    `eval_run` adds the suffix the official checker adds.
    """

    def __init__(self, entry: dict, *, model_name: str = DEFAULT_MODEL_NAME, eval_run: bool = False) -> None:
        self.entry_id: str = entry["id"]
        long_context = entry.get("long_context", is_long_context(category_of(self.entry_id)))
        name = model_name + "_eval" if eval_run else model_name
        self.instances: dict[str, Any] = {}
        self._variables: dict[str, Any] = {}
        self._owner: dict[str, str] = {}  # method name -> instance variable (a later class wins)
        for class_name in entry["involved_classes"]:
            instance = backend_class(class_name)()
            if class_name not in _STATELESS:
                instance._load_scenario(deepcopy(entry["initial_config"].get(class_name, {})), long_context=long_context)
            variable = instance_variable(name, self.entry_id, class_name)
            self.instances[class_name] = instance
            self._variables[variable] = instance
            for method, _ in inspect.getmembers(instance, predicate=inspect.ismethod):
                if not method.startswith("_"):
                    self._owner[method] = variable

    def execute(self, name: str, arguments: dict | str) -> str:
        """Run one tool call; never raises: failures come back as the official error strings."""
        try:
            source = call_source(name, arguments)
        except Exception as e:
            return f"Error during execution: {e}"
        return self.execute_source(source)

    def execute_step(self, calls: list[dict]) -> list[str]:
        """Run one model response's calls ({"name", "arguments"} each), in order."""
        return [self.execute(c.get("name", ""), c.get("arguments", {})) for c in calls]

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
        if type(result) is str:
            return result
        if type(result) is dict:
            try:
                return json.dumps(result)
            except Exception:
                return str(result)
        return str(result)

    def state(self) -> dict[str, dict]:
        """Public attributes of each stateful instance (what the checker compares)."""
        return {
            name: {k: v for k, v in vars(inst).items() if not k.startswith("_")}
            for name, inst in self.instances.items()
            if name not in _STATELESS
        }

    def _qualify(self, match: re.Match) -> str:
        method = match.group(1)
        owner = self._owner.get(method)
        return f"{owner}.{method}" if owner else method

    def _eval(self, node: ast.AST) -> Any:
        # Python's own evaluation order: callee, positional args, keyword values.
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self._variables:
                return self._variables[node.id]
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
            if not any(owner is inst for inst in self._variables.values()):
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


def _decode_turns(model_calls: list) -> list[list[list[str]]]:
    """Per turn, per step, the call sources; steps that fail to decode or hold no call are dropped."""
    turns = []
    for turn in model_calls:
        steps = []
        for step in turn if type(turn) is list else []:
            try:
                sources = [call_source(call["name"], call["arguments"]) for call in step]
            except Exception:
                continue
            if sources and not (len(sources) == 1 and sources[0] == ""):
                steps.append(sources)
        turns.append(steps)
    return turns


def check_multi_turn(entry: dict, model_calls: Any, answer: list[list[str]], *, model_name: str = DEFAULT_MODEL_NAME) -> Verdict:
    """Verdict on a multi-turn episode: `model_calls` is list[turn] of list[step] of
    list[{"name": str, "arguments": dict}]; `answer` the entry's ground truth."""
    if type(model_calls) is not list:
        return Verdict(False, "multi_turn:inference_error", ["no list of turns (inference failed)"])
    if len(model_calls) != len(answer):
        return Verdict(False, "multi_turn:force_terminated",
                       [f"{len(model_calls)} turns for {len(answer)} expected (force-terminated)"])
    turns = _decode_turns(model_calls)
    model_env = MultiTurnEnv(entry, model_name=model_name, eval_run=True)
    truth_env = MultiTurnEnv(entry, model_name=model_name + "_ground_truth", eval_run=True)
    results_so_far: list[str] = []
    for index, expected_calls in enumerate(answer):
        steps = turns[index]
        for step in steps:
            results_so_far.extend(model_env.execute_source(source) for source in step)
        expected_results = [truth_env.execute_source(source) for source in expected_calls]
        if not expected_calls:
            continue  # the model should decline here; not checked officially
        if not steps:
            return Verdict(False, "multi_turn:empty_turn_model_response", [f"no call in turn {index}"])
        mismatch = _state_mismatch(model_env, truth_env)
        if mismatch:
            return Verdict(False, "multi_turn:instance_state_mismatch", [f"turn {index}: {mismatch}"])
        missing = Counter(expected_results) - Counter(results_so_far)
        if missing:
            return Verdict(False, "multi_turn:execution_response_mismatch",
                           [f"turn {index}: results never produced: {list(missing.elements())!r}"])
    return Verdict(True)


def _state_mismatch(model_env: MultiTurnEnv, truth_env: MultiTurnEnv) -> str:
    for class_name, truth in truth_env.instances.items():
        model = model_env.instances[class_name]
        differing = [
            attr for attr in vars(truth)
            if not attr.startswith("_") and getattr(model, attr) != getattr(truth, attr)
        ]
        if differing:
            return f"{class_name} differs in {', '.join(differing)}"
    return ""
