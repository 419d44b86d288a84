"""What one rollout hands the trainer: token ids exactly as the engine read and generated them.

A multi-turn rollout is a list of `Turn`s, one per model call: the prompt the
engine read (`Completion.prompt_token_ids`) and the tokens it generated, with
their logprobs. When a turn's prompt starts with everything before it (the
previous prompt plus what was generated), the turns share one training row,
with tool and user tokens in between masked out. When it does not (a chat
template that renders an assistant turn differently from how it was sampled),
the turn starts a new row: the trainer always sees the ids the model saw,
never a re-tokenized text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]  # the engine's, one per completion id
    version: int = 0  # the policy version that started generating it

    def __post_init__(self) -> None:
        if len(self.completion_ids) != len(self.logprobs):
            raise ValueError(f"{len(self.completion_ids)} generated ids but {len(self.logprobs)} logprobs")


@dataclass
class Row:
    """One training sequence: the loss covers the positions where `loss_mask` is 1."""

    input_ids: list[int]
    loss_mask: list[int]
    infer_logprobs: list[float]  # the engine's logprob at each loss position (0.0 elsewhere)

    @property
    def loss_tokens(self) -> int:
        return sum(self.loss_mask)


def rows_of(turns: list[Turn]) -> list[Row]:
    """The turns as training rows, merged where each prompt extends the row so far."""
    rows: list[Row] = []
    for turn in turns:
        row = rows[-1] if rows else None
        if row is not None and turn.prompt_ids[: len(row.input_ids)] == row.input_ids:
            new = turn.prompt_ids[len(row.input_ids):]
            row.input_ids += new
            row.loss_mask += [0] * len(new)
            row.infer_logprobs += [0.0] * len(new)
        else:
            row = Row(list(turn.prompt_ids), [0] * len(turn.prompt_ids), [0.0] * len(turn.prompt_ids))
            rows.append(row)
        row.input_ids += turn.completion_ids
        row.loss_mask += [1] * len(turn.completion_ids)
        row.infer_logprobs += list(turn.logprobs)
    return rows


@dataclass
class Rollout:
    """One graded episode of a task."""

    task_id: str
    turns: list[Turn]
    reward: float
    truncated: bool = False  # hit the context, step or time limit: masked from the loss
    info: dict[str, Any] = field(default_factory=dict)
    advantage: float = 0.0

    @property
    def version(self) -> int:
        """The oldest policy any of its tokens came from (what staleness is measured against)."""
        return min((t.version for t in self.turns), default=0)

    @property
    def generated_tokens(self) -> int:
        return sum(len(t.completion_ids) for t in self.turns)


def turn_of(completion: Any) -> Turn:
    """A runtime Completion as a Turn; it must carry its prompt ids, generated ids and logprobs."""
    if completion.prompt_token_ids is None or completion.token_ids is None or completion.logprobs is None:
        raise ValueError("RL needs the prompt ids, generated ids and logprobs of every turn: sample with "
                         "logprobs=True and extra_body {'return_token_ids': True} on a backend that gives them "
                         "(embedded, or vLLM)")
    version = (completion.metadata.get("weights_version") or [0])[0]
    return Turn(list(completion.prompt_token_ids), list(completion.token_ids),
                [lp.logprob for lp in completion.logprobs], int(version))
