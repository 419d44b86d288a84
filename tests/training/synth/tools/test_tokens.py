"""Records rendered by the embedded model's tokenizer and chat template (the
format the model trains and is served on): tools in the system turn, calls as
<tool_call> blocks, and compact enough for CPU training."""

import json

import pytest

from agentforge.training.synth.tools.generate import generate
from agentforge.training.synth.tools.mix import DEFAULT_MIX

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tokenizer():
    from agentforge.training.synth.tools.tokens import load_tokenizer

    return load_tokenizer()


def test_the_chat_template_renders_tools_and_calls(tokenizer):
    for rec in generate(30, seed=2, mix=DEFAULT_MIX):
        text = tokenizer.apply_chat_template(rec["messages"], tools=rec["tools"], tokenize=False)
        system = text.split("<|im_end|>")[0]
        assert all(json.dumps(t["function"]["name"]) in system for t in rec["tools"])
        calls = rec["messages"][-1].get("tool_calls") or []
        assert text.count("<tool_call>\n{\"name\": ") == len(calls) + 1  # + the format line of the tools header
        for call in calls:
            assert call["function"]["arguments"] in text


def test_records_are_compact(tokenizer):
    from agentforge.training.synth.tools.tokens import token_stats

    stats = token_stats(tokenizer, generate(120, seed=4, mix=DEFAULT_MIX))
    assert set(stats["by_shape"]) == set(DEFAULT_MIX)
    assert stats["mean"] < 550 and stats["max"] < 1400
    assert stats["by_shape"]["simple"]["mean"] < 400 and stats["by_shape"]["irrelevant"]["mean"] < 450
