"""BFCL v3 must not enter training data: records carrying a BFCL function name
or a BFCL question are dropped, and the default generator's output is clean.
Uses the real BFCL v3 data (downloaded once, as the harness tests do)."""

import json

import pytest

from agentforge.harnesses.bfcl.data import load_entries
from agentforge.training.synth.tools.contamination import (ContaminationFilter, bfcl_index, build_index,
                                                           normalize_name, record_names)
from agentforge.training.synth.tools.generate import generate
from agentforge.training.synth.tools.mix import DEFAULT_MIX


@pytest.fixture(scope="module")
def index():
    return bfcl_index()


def _record(query, name="plan_the_garden"):
    tool = {"type": "function", "function": {"name": name, "description": "d", "parameters": {
        "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}
    return {"messages": [{"role": "user", "content": query},
                         {"role": "assistant", "content": "", "tool_calls": [
                             {"id": "call_0", "type": "function", "function": {"name": name, "arguments": "{\"x\": 1}"}}]}],
            "tools": [tool]}


def test_names_normalize_across_dots_underscores_and_case():
    assert normalize_name("math.factorial") == normalize_name("math_factorial") == normalize_name("MathFactorial")


def test_the_index_covers_every_category(index):
    assert index.questions > 4000 and len(index.names) > 1500
    multi_turn_name = load_entries("multi_turn_base")[0]["function"][0]["name"]
    assert normalize_name(multi_turn_name) in index.names


def test_a_record_with_a_bfcl_function_name_is_dropped(index):
    entry = load_entries("simple")[0]
    bfcl_name = entry["function"][0]["name"]
    flt = ContaminationFilter(index)
    assert flt.keep(_record("Plan my garden beds for spring, please.")) is True
    assert flt.keep(_record("Plan my garden beds for spring, please.", bfcl_name.replace(".", "_"))) is False
    assert flt.report.dropped_name == 1


def test_a_record_with_a_bfcl_question_is_dropped(index):
    question = load_entries("parallel")[3]["question"][0][0]["content"]
    flt = ContaminationFilter(index)
    assert flt.keep(_record(f"Hi! {question} Thanks.")) is False
    assert flt.report.dropped_ngram == 1 and flt.report.max_ngram_overlap > 0.5
    irrelevance = load_entries("irrelevance")[5]["question"][0][0]["content"]
    assert flt.keep(_record(irrelevance)) is False


def test_a_tiny_index_flags_exact_eight_word_runs():
    idx = build_index([{"question": [[{"role": "user", "content": "one two three four five six seven eight nine"}]],
                        "function": [{"name": "a.b"}]}])
    flt = ContaminationFilter(idx)
    assert flt.keep(_record("zero one two three four five six seven eight")) is False
    assert flt.keep(_record("one two three four five six seven zzz eight")) is True
    assert flt.keep(_record("nothing shared here at all today", "a_b")) is False


def test_default_output_has_no_bfcl_name_and_no_flagged_query(index):
    flt = ContaminationFilter(index)
    records = list(generate(1500, seed=0, mix=DEFAULT_MIX, accept=flt.keep, banned_names=index.names))
    check = ContaminationFilter(index)
    assert all(check.keep(r) for r in records)
    assert check.report.dropped == 0 and check.report.records_with_shared_ngram == 0


def test_without_the_filter_bfcl_names_do_get_in(index):
    # the catalog's natural names collide with BFCL's now and then: the filter is what keeps them out
    records = list(generate(1500, seed=0, mix=DEFAULT_MIX))
    hits = [n for r in records for n in record_names(r) if normalize_name(n) in index.names]
    assert hits, "expected some collisions without the filter; if the catalog changed, this test lost its teeth"
    assert json.dumps(records) != json.dumps(list(generate(1500, seed=0, mix=DEFAULT_MIX, banned_names=index.names)))


def test_the_catalog_is_written_here_not_taken_from_bfcl():
    # no family description shares a 6-word run with any BFCL function description
    from agentforge.harnesses.bfcl.data import CATEGORIES
    from agentforge.training.synth.tools.catalog import families
    from agentforge.training.synth.tools.contamination import ngrams

    bfcl = set()
    for category in CATEGORIES:
        for entry in load_entries(category):
            for doc in entry.get("function") or []:
                bfcl |= ngrams(doc.get("description", ""), 6)
    assert len(bfcl) > 10000
    assert [f.id for f in families() if ngrams(f.desc, 6) & bfcl] == []
