"""BFCL multi-turn: the official checker's verdict, over the environment of multi_turn.py.

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
import pickle
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from agentforge.harnesses.bfcl.checker import Verdict
from agentforge.harnesses.bfcl.data import backend_class, backends_importable
from agentforge.harnesses.bfcl.multi_turn import (
    CALLABLE_NAME,
    DEFAULT_MODEL_NAME,
    STOPPED,
    MultiTurnEnv,
    call_source,
    differing,
    direct_ok,
    entry_signature,
    initial_backends,
    public_state,
    unpickle,
)


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
    pristine = {name: unpickle(blob) for name, blob in initial.items()}
    results, keys, states, differs, touched = [], [], [], [], False
    last: dict[tuple[str, str], bytes] = {}
    for calls in answer:
        keys.append([_answer_key(env, source) for source in calls])
        results.append([env.execute_source(source) for source in calls])
        touched = touched or any(len(CALLABLE_NAME.findall(source)) > 1 for source in calls)
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
        differs.append({name: differing(pristine[name], attrs) for name, attrs in public.items()})
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
        return _call_key(name, arguments) if direct_ok(name, arguments) else None
    except Exception:
        return None


_truths: dict[str, tuple[tuple, TruthRun]] = {}


def remember_truth(entry: dict, answer: list[list[str]], truth: TruthRun) -> None:
    """Make a precomputed TruthRun (e.g. from a disk cache) available to check_multi_turn."""
    _truths[entry["id"]] = (deepcopy((entry_signature(entry), answer)), truth)


def _truth_for(entry: dict, answer: list[list[str]], model_name: str) -> TruthRun:
    memo = _truths.get(entry["id"])
    if memo is not None and memo[0] == (entry_signature(entry), answer):
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
                    if direct_ok(name, arguments):
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
