"""A record as training ids: input_ids, plus labels on the assistant tokens only.

Identity with serving, by construction: for the assistant message at index k,
the ids before it are exactly `EmbeddedBackend.prompt_ids(messages[:k])` (the
backend's own `render_prompt`, tokenized the backend's way), and its own ids
are the tokenization of the text the chat template renders for it, up to and
including the <|im_end|> that ends it (the model's stop token). The newline
after <|im_end|> is context of the next turn, as it is when serving.

The text is cut into segments at those boundaries and each is tokenized on
its own. The tokenizer splits at special tokens anyway; the one cut inside
ordinary text ("...assistant\\n" | reply) could in principle merge
differently (a reply starting with blank lines), so every record is checked
once against the tokenization of its whole text, and a record that differs
is skipped and counted rather than trained on ids serving would never feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from agentforge.runtime.backends.chat_format import render_prompt, template_messages
from agentforge.runtime.messages import Message, ToolSpec

IGNORE = -100  # label of a position without loss
END_OF_TURN = "<|im_end|>"


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE, or the token itself (the loss shifts by one)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def trained_tokens(self) -> int:
        return sum(label != IGNORE for label in self.labels)


class TokenizationMismatch(ValueError):
    """The record's segments tokenize differently from its whole text."""


def render_conversation(tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> str:
    """The template's text of a whole conversation (no generation prompt)."""
    tool_dicts = [t.model_dump() for t in tools] if tools else None
    return tokenizer.apply_chat_template(
        template_messages(messages), tools=tool_dicts, add_generation_prompt=False, tokenize=False
    )


def encode(tokenizer: Any, text: str) -> list[int]:
    # As EmbeddedBackend._encode: no BOS/EOS added, the template has them.
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def segments(tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> list[tuple[str, bool]]:
    """The conversation's text as (text, trained) pieces, up to the end of the last assistant turn."""
    pieces: list[tuple[str, bool]] = []
    done = ""  # the text covered so far
    for k, message in enumerate(messages):
        if message.role != "assistant":
            continue
        prompt = render_prompt(tokenizer, messages[:k], tools)  # what the backend feeds for messages[:k]
        turn = render_conversation(tokenizer, messages[: k + 1], tools)
        if not prompt.startswith(done) or not turn.startswith(prompt):
            raise TokenizationMismatch("the chat template does not render this conversation incrementally")
        reply = turn[len(prompt):]
        cut = reply.rfind(END_OF_TURN)
        if cut < 0:
            raise TokenizationMismatch(f"the template ended assistant message {k} without {END_OF_TURN}")
        reply = reply[: cut + len(END_OF_TURN)]
        pieces += [(prompt[len(done):], False), (reply, True)]
        done = prompt + reply
    return pieces


def encode_record(tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> Encoded:
    input_ids: list[int] = []
    labels: list[int] = []
    text = ""
    for piece, trained in segments(tokenizer, messages, tools):
        ids = encode(tokenizer, piece)
        input_ids += ids
        labels += ids if trained else [IGNORE] * len(ids)
        text += piece
    if encode(tokenizer, text) != input_ids:
        raise TokenizationMismatch("its turns tokenize differently on their own than in the whole text")
    return Encoded(input_ids, labels)
