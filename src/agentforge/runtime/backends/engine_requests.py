"""What goes into the engine and comes out of it: a request, its events,
and the engine's state for each candidate and each prefill."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from agentforge.runtime.backends.llama import KVCache
from agentforge.runtime.backends.sampling import SamplingSpec


@dataclass
class TokenEvent:
    index: int
    token_id: int
    logprob: float
    top: list[tuple[int, float]]  # (token id, logprob), most likely first


@dataclass
class FinishEvent:
    index: int
    token_ids: list[int]
    logprobs: list[float]
    top: list[list[tuple[int, float]]]
    finish_reason: str  # stop | length | cancelled | error
    prompt_tokens: int
    stop_text_len: int | None = None  # where a stop string began in the decoded text
    error: str | None = None


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    n: int
    sampling: SamplingSpec
    emit: Callable[[Any], None]  # receives TokenEvent (if stream) and FinishEvent, on the engine thread
    stream: bool = False
    cancelled: bool = False
    constraints: list[Any] | None = None  # one tool_grammar.Constraint per candidate, or None


@dataclass
class SequenceState:
    request: GenerationRequest
    index: int
    position: int  # next cache position to write (= tokens in cache)
    pending: int  # sampled token not yet in the cache
    generator: torch.Generator | None
    constraint: Any = None  # this candidate's grammar state (tool_grammar.Constraint), if constrained
    error: str | None = None
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    top: list[list[tuple[int, float]]] = field(default_factory=list)


@dataclass
class PrefillJob:
    """Tokens to run through the model into a one-row cache of their own: a new
    request's prompt (then `rows` = its n candidates start), or a preempted
    sequence's prompt and samples so far (then it resumes where it was)."""

    request: GenerationRequest
    tokens: list[int]
    rows: int
    resume: SequenceState | None = None
    cache: KVCache | None = None  # allocated when the prefill starts
    done: int = 0  # tokens already in the cache
