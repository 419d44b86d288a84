"""Multi-turn: the environment's execution semantics and the checker on real entries."""

import ast
import copy
import dataclasses
import inspect
import json

import pytest

from agentforge.harnesses.bfcl import data
from agentforge.harnesses.bfcl.multi_turn import MAX_STEPS_PER_TURN, MultiTurnEnv, call_source, step_limit_reached
from agentforge.harnesses.bfcl.multi_turn_check import check_multi_turn, run_truth
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.harnesses.bfcl.score_cache import Scorer


def entry_and_answer(category, index=0):
    entry = data.load_entries(category)[index]
    return entry, data.load_answers(category)[entry["id"]]


def as_calls(env, answer):
    """Ground-truth sources -> one step of {"name", "arguments"} calls per turn (positional args named)."""
    turns = []
    for sources in answer:
        calls = []
        for source in sources:
            node = ast.parse(source, mode="eval").body
            method = getattr(next(i for i in env.instances.values() if hasattr(i, node.func.id)), node.func.id)
            params = list(inspect.signature(method).parameters)
            args = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
            args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
            calls.append({"name": node.func.id, "arguments": args})
        turns.append([calls] if calls else [])
    return turns


@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_miss_func", "multi_turn_long_context"])
def test_ground_truth_replay_passes_and_a_removed_step_fails(category):
    entry, answer = entry_and_answer(category)
    turns = as_calls(MultiTurnEnv(entry), answer)
    assert check_multi_turn(entry, turns, answer).valid
    # One call per step is the same episode.
    split = [[[c] for step in turn for c in step] for turn in turns]
    assert check_multi_turn(entry, split, answer).valid
    # Drop the last call of the first turn that changes state or returns something the answer needs.
    failures = 0
    for t, turn in enumerate(turns):
        if turn:
            broken = copy.deepcopy(turns)
            broken[t][0].pop()
            failures += not check_multi_turn(entry, broken, answer).valid
    assert failures >= 1


def test_episode_shape_failures():
    entry, answer = entry_and_answer("multi_turn_base")
    turns = as_calls(MultiTurnEnv(entry), answer)
    assert check_multi_turn(entry, None, answer).error_type == "multi_turn:inference_error"
    assert check_multi_turn(entry, turns[:-1], answer).error_type == "multi_turn:force_terminated"
    busy = next(t for t, turn in enumerate(turns) if turn)
    empty = copy.deepcopy(turns)
    empty[busy] = [[]]  # a step without calls is dropped, as if the model answered in text
    assert check_multi_turn(entry, empty, answer).error_type == "multi_turn:empty_turn_model_response"
    # A step that does not decode is dropped too; the rest still counts.
    noisy = copy.deepcopy(turns)
    noisy[busy].insert(0, [{"arguments": {}}])
    assert check_multi_turn(entry, noisy, answer).valid


def test_execution_results_and_errors_are_the_official_strings():
    entry, _ = entry_and_answer("multi_turn_base")
    env = MultiTurnEnv(entry)
    assert env.execute("no_such_tool", {"x": 1}) == "Error during execution: name 'no_such_tool' is not defined"
    assert env.execute("exit", {}) == "Error during execution: Function call exit is not allowed."
    assert env.execute("ls", {"bogus": 1}) == \
        "Error during execution: GorillaFileSystem.ls() got an unexpected keyword argument 'bogus'"
    assert env.execute("ls", {"bad-key": 1}).startswith("Error during execution: ")  # a SyntaxError, reported
    assert env.execute("ls", "{not json").startswith("Error during execution: ")
    assert env.execute("len", {}) == "Error during execution: len() takes exactly one argument (0 given)"
    listing = env.execute("ls", {})
    assert json.loads(listing)["current_directory_content"]  # a dict result comes back as JSON


def test_direct_calls_equal_the_source_round_trip():
    entry, answer = entry_and_answer("multi_turn_base", 3)
    direct, via_source = MultiTurnEnv(entry), MultiTurnEnv(entry)
    for turn in as_calls(direct, answer):
        for step in turn:
            for call in step:
                assert direct.execute(call["name"], call["arguments"]) == \
                    via_source.execute_source(call_source(call["name"], call["arguments"]))
    assert direct.state() == via_source.state()


def test_method_text_inside_a_string_argument_is_rewritten_as_officially():
    entry, _ = entry_and_answer("multi_turn_base")
    env = MultiTurnEnv(entry, model_name="m")
    env.execute("touch", {"file_name": "note.txt"})
    env.execute("echo", {"content": "then ls() twice", "file_name": "note.txt"})
    content = json.loads(env.execute("cat", {"file_name": "note.txt"}))["file_content"]
    assert content == f"then m_{entry['id']}_gorillafilesystem_instance.ls() twice"


def test_a_precomputed_truth_and_the_cached_scorer_give_the_same_verdicts():
    entry, answer = entry_and_answer("multi_turn_miss_param", 5)
    turns = as_calls(MultiTurnEnv(entry), answer)
    broken = copy.deepcopy(turns)
    next(turn for turn in broken if turn)[0][0]["arguments"]["zq"] = 1
    truth = run_truth(entry, answer)
    scorer = Scorer()
    for output in (turns, broken, turns[:-1]):
        expected = check_multi_turn(entry, output, answer)
        assert check_multi_turn(entry, output, answer, truth=truth) == expected
        assert score_entry("multi_turn_miss_param", entry, answer, output) == expected
        assert scorer.score("multi_turn_miss_param", entry["id"], output) == expected


def test_skipping_calls_that_follow_the_answer_changes_no_verdict():
    # Outputs that follow the answer for a while are not executed until they depart
    # from it; forcing full execution (no comparable answer calls) must agree.
    entry, answer = entry_and_answer("multi_turn_base", 7)
    turns = as_calls(MultiTurnEnv(entry), answer)
    truth = run_truth(entry, answer)
    executed = dataclasses.replace(truth, keys=[[None] * len(keys) for keys in truth.keys])
    variants = [turns]
    for t, turn in enumerate(turns):
        if turn:
            late = copy.deepcopy(turns)
            late[t][0][-1]["arguments"]["zq"] = 1
            swapped = copy.deepcopy(turns)
            swapped[t][0].reverse()
            extra = copy.deepcopy(turns)
            extra[t][0].append(copy.deepcopy(turn[0][0]))
            variants += [late, swapped, extra]
    verdicts = [check_multi_turn(entry, v, answer, truth=truth) for v in variants]
    assert verdicts == [check_multi_turn(entry, v, answer, truth=executed) for v in variants]
    assert verdicts[0].valid and not all(v.valid for v in verdicts)


def test_recorded_turns_are_scored_even_after_a_force_quit():
    entry, answer = entry_and_answer("multi_turn_base")
    turns = as_calls(MultiTurnEnv(entry), answer)
    quit_note = "force-quit after too many steps in one turn"
    assert score_entry("multi_turn_base", entry, answer, turns, quit_note).valid  # in the last turn: scored as is
    assert score_entry("multi_turn_base", entry, answer, turns[:-1], quit_note).error_type == "multi_turn:force_terminated"
    assert score_entry("multi_turn_base", entry, answer, None, "backend down").error_type == "multi_turn:inference_error"


def test_step_cap():
    assert MAX_STEPS_PER_TURN == 20
    assert not step_limit_reached(20) and step_limit_reached(21)
