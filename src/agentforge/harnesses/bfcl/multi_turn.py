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

The checker that replays the answer in this environment: multi_turn_check.py.
"""

from __future__ import annotations

import ast
import inspect
import json
import keyword
import math
import pickle
import re
from copy import deepcopy
from functools import lru_cache
from typing import Any

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
CALLABLE_NAME = re.compile(r"\b([a-zA-Z_]\w*)\s*(?=\()")
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


def direct_ok(name: Any, arguments: Any) -> bool:
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


def entry_signature(entry: dict) -> tuple:
    # What the initial backends depend on; kept beside memos keyed by entry id so that
    # an edited entry with the same id is never served a stale memo (== is cheap).
    return entry["involved_classes"], entry["initial_config"], entry.get("long_context")


_templates: dict[str, tuple[tuple, dict[str, bytes]]] = {}


def unpickle(blob: bytes) -> Any:
    backends_importable()  # pickled backends name the wheel's modules
    return pickle.loads(blob)


def initial_backends(entry: dict) -> dict[str, bytes]:
    """{class name: pickled instance in the entry's initial state}, built once per entry.

    One pickle per class: instances of different classes share nothing, and an
    environment then only unpickles the classes a model actually uses."""
    signature = entry_signature(entry)
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
            live = self._live[class_name] = unpickle(self._blobs[class_name])
        return live

    def used(self, class_name: str) -> bool:
        """Whether the instance has come to life (an unused one is in its initial state)."""
        return class_name in self._live

    def execute(self, name: str, arguments: dict | str) -> str:
        """Run one tool call; never raises: failures come back as the official error strings."""
        try:
            if type(arguments) is str:
                arguments = json.loads(arguments)
            if direct_ok(name, arguments) and name in self._method_class:
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
        source = CALLABLE_NAME.sub(self._qualify, source)
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


def differing(model: Any, expected: dict[str, Any]) -> list[str]:
    # The official direction: the model's value on the left of !=.
    return [attr for attr, value in expected.items() if getattr(model, attr) != value]
