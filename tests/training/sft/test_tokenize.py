"""Training ids are serving ids: checked token for token against the embedded
backend's own `prompt_ids` (render_prompt + its tokenization)."""

from __future__ import annotations

import json

import pytest

from agentforge.runtime.messages import Message
from agentforge.training.sft.records import parse_record
from agentforge.training.sft.tokenize import IGNORE, TokenizationMismatch, encode_record
from tests.training.sft.samples import irrelevant, no_tools, parallel_calls, single_call

pytestmark = pytest.mark.model

RECORDS = {
    "tools, one call, tool result, default system": single_call("Paris"),
    "parallel calls, custom system, text+call turn, ends on a tool result": parallel_calls("Oslo", "Lima"),
    "no tools, default system": no_tools(7),
    "tools offered, answered in text": irrelevant("Quito"),
}


def labelled_spans(labels: list[int]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, label in enumerate(labels + [IGNORE]):
        if label != IGNORE and start is None:
            start = i
        elif label == IGNORE and start is not None:
            spans.append((start, i))
            start = None
    return spans


@pytest.mark.parametrize("name", list(RECORDS))
def test_training_ids_equal_the_backends_prompt_ids(name, embedded, tokenizer):
    record = parse_record(RECORDS[name])
    encoded = encode_record(tokenizer, record.messages, record.tools)
    assistant_at = [k for k, m in enumerate(record.messages) if m.role == "assistant"]
    spans = labelled_spans(encoded.labels)
    assert len(spans) == len(assistant_at)  # one trained span per assistant message, nothing else trained
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for k, (start, end) in zip(assistant_at, spans):
        served = embedded.prompt_ids(record.messages[:k], record.tools)
        assert encoded.input_ids[:start] == served, f"context before assistant message {k}"
        assert encoded.labels[start:end] == encoded.input_ids[start:end]
        assert encoded.input_ids[end - 1] == im_end  # the stop token is learned
        # the turn's ids: the tokenization of the text the template renders for that message
        reply = tokenizer.decode(encoded.input_ids[start:end])
        assert encoded.input_ids[start:end] == tokenizer(reply, add_special_tokens=False)["input_ids"]
        assert reply.endswith("<|im_end|>") and "<|im_start|>" not in reply
    # nothing after the last assistant turn (a trailing tool result teaches nothing)
    assert spans[-1][1] == len(encoded.input_ids)


def test_parallel_call_turn_is_rendered_as_hermes_blocks(tokenizer):
    record = parse_record(parallel_calls("Oslo", "Lima"))
    encoded = encode_record(tokenizer, record.messages, record.tools)
    first, second, third = (tokenizer.decode(encoded.input_ids[s:e]) for s, e in labelled_spans(encoded.labels))
    assert first == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "fahrenheit"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lima", "unit": "fahrenheit"}}\n</tool_call>'
        "<|im_end|>"
    )
    assert second == "Oslo: 70 °F. Lima: 51 °F.<|im_end|>"
    assert third.startswith("Booking it now.\n<tool_call>\n")
    context = tokenizer.decode(encoded.input_ids)
    assert context.startswith("<|im_start|>system\nYou are a terse travel assistant.\n\n# Tools")
    assert "<tool_response>\n{\"temp_f\": 70}\n</tool_response>\n<tool_response>" in context


def test_a_reply_that_tokenizes_differently_in_context_is_refused(tokenizer):
    # "assistant\n" + "\n\nHi" merges the newlines across the cut: serving would see other ids
    messages = [Message.user("hi"), Message(role="assistant", content="\n\nHi there")]
    with pytest.raises(TokenizationMismatch):
        encode_record(tokenizer, messages, None)


def test_invalid_records_are_reported_with_file_and_line(tmp_path):
    from agentforge.training.sft.records import RecordError, load_records

    path = tmp_path / "bad.jsonl"
    good = json.dumps(no_tools(1))
    path.write_text("\n".join([good, "{not json", json.dumps({"messages": [{"role": "user", "content": "x"}]}),
                               json.dumps({"messages": [{"role": "wizard", "content": "x"}]}), good]) + "\n")
    with pytest.raises(RecordError) as e:
        load_records([path])
    text = str(e.value)
    assert "3 invalid" in text
    assert f"{path}:2:" in text and f"{path}:3: no assistant message" in text and f"{path}:4: messages[0]" in text
    assert f"{path}:1" not in text
