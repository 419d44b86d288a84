"""The trainable policy: a transformers causal LM, one or more optimizer steps per batch of rollouts.

Rows (sample.Row) are packed into micro-batches of at most `micro_tokens`
tokens, with position ids restarting at each row and per-row causal attention
(the SFT's `sdpa_packed_docs`); the G rollouts of one prompt share its forward
pass (branches, see `pack`); and the vocabulary projection runs only at the
positions that predict a loss token (`logits_to_keep`).

Distributed (accelerate: DDP or FSDP): every process holds the whole batch and
takes every world-th micro-batch of one global plan, padded with zero-weight
micro-batches so that all processes run the same number of backward passes.
The loss is summed over loss tokens and divided by the batch's total, times
the world size because DDP and FSDP average gradients: the update is the one
a single process computes on the whole batch.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agentforge.training.rl.loss import Objective, policy_loss
from agentforge.training.rl.sample import Rollout, Row, rows_of


@dataclass
class Packed:
    input_ids: list[int]
    position_ids: list[int]
    loss_mask: list[int]
    infer_logprobs: list[float]
    advantages: list[float]
    weight: float = 1.0  # 0 for a padding micro-batch


def batch_rows(rollouts: list[Rollout]) -> list[tuple[Row, float]]:
    """The rows that train, with their rollout's advantage: masked rollouts and zero advantages give none."""
    return [(row, r.advantage) for r in rollouts if not r.truncated and r.advantage != 0.0 for row in rows_of(r.turns)]


MIN_SHARED = 16  # a shorter common prefix is not worth a branch


def pack(rows: list[tuple[Row, float]], micro_tokens: int) -> list[Packed]:
    """Greedy packing in the given order; a row longer than the budget is a micro-batch of its own.

    A row that shares a prefix with the last whole row of its micro-batch (the G rollouts of one
    prompt do) goes in as a branch: only the part after the shared prefix, its position ids going
    on from there, attending to the prefix (doc_attention). The prefix stops before the row's first
    loss token, and one shared token is repeated so that the branch itself predicts that token."""
    out: list[Packed] = []
    current: Packed | None = None
    root: Row | None = None
    for row, advantage in rows:
        start = 0
        if root is not None:
            first_loss = row.loss_mask.index(1) if 1 in row.loss_mask else len(row.input_ids)
            shared = min(common_prefix(root.input_ids, row.input_ids), first_loss) - 1
            # (a branch whose positions would go on from the previous segment's would read as one segment)
            if shared >= MIN_SHARED and current.position_ids[-1] + 1 != shared:
                start = shared
        if current is None or len(current.input_ids) + len(row.input_ids) - start > micro_tokens:
            current, start = Packed([], [], [], [], []), 0
            out.append(current)
        if start == 0:
            root = row
        current.input_ids += row.input_ids[start:]
        current.position_ids += list(range(start, len(row.input_ids)))
        current.loss_mask += row.loss_mask[start:]
        current.infer_logprobs += row.infer_logprobs[start:]
        current.advantages += [advantage] * (len(row.input_ids) - start)
    return out


def split_groups(rollouts: list[Rollout], parts: int) -> list[list[Rollout]]:
    """The batch in `parts` mini-batches of whole groups (a group's advantages are relative to each other)."""
    groups: dict[str, list[Rollout]] = {}
    for r in rollouts:
        groups.setdefault(r.task_id, []).append(r)
    ordered = list(groups.values())
    size = math.ceil(len(ordered) / max(1, parts)) or 1
    return [[r for group in ordered[i:i + size] for r in group] for i in range(0, len(ordered), size)]


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def plan(packed: list[Packed], world: int, rank: int) -> list[Packed]:
    """This process's micro-batches; every process gets the same number (zero-weight padding)."""
    per_rank = max(1, math.ceil(len(packed) / world))
    mine = packed[rank::world]
    filler = packed[0] if packed else None
    while len(mine) < per_rank and filler is not None:
        mine.append(Packed(filler.input_ids, filler.position_ids, filler.loss_mask, filler.infer_logprobs,
                           filler.advantages, weight=0.0))
    return mine


def micro_logprobs(model, micro: Packed) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log pi, entropy, selection) at the micro-batch's loss tokens."""
    device = next(model.parameters()).device
    ids = torch.tensor([micro.input_ids], device=device)
    positions = torch.tensor([micro.position_ids], device=device)
    mask = torch.tensor(micro.loss_mask, device=device).bool()
    predictors = torch.nonzero(mask[1:]).view(-1)  # position p predicts token p + 1
    out = model(input_ids=ids, position_ids=positions, logits_to_keep=predictors, use_cache=False)
    logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
    targets = ids[0, predictors + 1]
    chosen = logprobs.gather(1, targets.view(-1, 1)).view(-1)
    entropy = -(logprobs.exp() * logprobs).sum(-1).detach()
    return chosen, entropy, predictors + 1


class Policy:
    def __init__(self, model_dir: Path, *, lr: float, objective: Objective, micro_tokens: int = 4096,
                 weight_decay: float = 0.0, max_grad_norm: float = 1.0, accelerator: Any = None) -> None:
        from accelerate import Accelerator
        from transformers import AutoModelForCausalLM

        from agentforge.training.sft import doc_attention
        from agentforge.training.sft.run import load_tokenizer

        doc_attention.register()
        self.accelerator = accelerator or Accelerator(cpu=not torch.cuda.is_available())
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation=doc_attention.ATTN_NAME)
        model.config.use_cache = False
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.999))
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.tokenizer = load_tokenizer(Path(model_dir))
        self.objective, self.micro_tokens, self.max_grad_norm = objective, micro_tokens, max_grad_norm

    def update(self, rollouts: list[Rollout], minibatches: int = 1, epochs: int = 1) -> dict[str, float]:
        """One update on a batch (the same list on every process): `epochs` passes over it, each
        in `minibatches` optimizer steps (groups kept whole); the logged statistics.

        With one step, pi_old is the policy as it is now, so the ratio is 1 in value and the clip
        cannot bind. With more, pi_old is recorded before the first step (a no-grad pass) and the
        later steps see ratios != 1: the clip bounds how far one batch moves the policy."""
        acc = self.accelerator
        steps = []
        for chunk in split_groups(rollouts, minibatches):
            rows = batch_rows(chunk)
            n_tokens = sum(row.loss_tokens for row, _ in rows)
            if n_tokens:
                steps.append((plan(pack(rows, self.micro_tokens), acc.num_processes, acc.process_index), n_tokens))
        if not steps:
            return {"loss_tokens": 0.0}
        self.model.train()
        old = None
        if len(steps) * epochs > 1:
            with torch.no_grad():
                old = [[micro_logprobs(self.model, micro)[0] for micro in mine] for mine, _ in steps]
        totals = dict.fromkeys(("loss", "entropy_sum", "clip_low_tokens", "clip_high_tokens", "tis_capped_tokens",
                                "tis_weight_sum", "mismatch_kl_sum", "grad_norm"), 0.0)
        for _ in range(epochs):
            for i, (mine, n_tokens) in enumerate(steps):
                self._step(mine, n_tokens, old[i] if old else None, totals)
        reduced = acc.reduce(torch.tensor(list(totals.values()), dtype=torch.float64), reduction="sum")
        out = dict(zip(totals, reduced.tolist()))
        n_steps = len(steps) * epochs
        seen = epochs * sum(n for _, n in steps)  # loss tokens over all passes
        return {
            "loss": out["loss"] / n_steps,
            "entropy": out["entropy_sum"] / seen,
            "clip_fraction": (out["clip_low_tokens"] + out["clip_high_tokens"]) / seen,
            "tis_capped_fraction": out["tis_capped_tokens"] / seen,
            "tis_weight_mean": out["tis_weight_sum"] / seen,
            "mismatch_kl": out["mismatch_kl_sum"] / seen,  # E[log pi_infer - log pi_train] on sampled tokens
            "grad_norm": out["grad_norm"] / acc.num_processes / n_steps,
            "loss_tokens": float(sum(n for _, n in steps)),
            "optimizer_steps": float(n_steps),
        }

    def _step(self, mine: list[Packed], n_tokens: int, old: list[torch.Tensor] | None,
              totals: dict[str, float]) -> None:
        """One optimizer step over this process's micro-batches; adds its statistics to `totals`."""
        acc = self.accelerator
        for k, micro in enumerate(mine):
            sync = k == len(mine) - 1
            context = acc.no_sync(self.model) if not sync else nullcontext()
            with context:
                logp, entropy, at = micro_logprobs(self.model, micro)
                infer = torch.tensor(micro.infer_logprobs, device=logp.device)[at]
                advantages = torch.tensor(micro.advantages, device=logp.device)[at]
                old_logp = logp.detach() if old is None else old[k]
                loss, stats = policy_loss(logp, old_logp, infer, advantages, n_tokens, self.objective)
                acc.backward(loss * acc.num_processes * micro.weight)
            if micro.weight:
                totals["loss"] += float(loss.detach())
                totals["entropy_sum"] += float(entropy.sum())
                totals["mismatch_kl_sum"] += float((infer - logp.detach()).sum())
                for key, value in stats.items():
                    totals[key] += value
        grad_norm = acc.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        totals["grad_norm"] += float(grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def engine_state(self) -> dict[str, torch.Tensor]:
        """The full weights under Hugging Face names (gathered across FSDP shards), fp32, on the CPU."""
        state = self.accelerator.get_state_dict(self.model)
        return {k: v.detach().float().cpu() for k, v in state.items()}

    def save_model(self, folder: Path) -> None:
        """An HF checkpoint users can serve (agent serve -m embedded:FOLDER)."""
        from agentforge.training.sft.export import export

        state = self.engine_state()
        if self.accelerator.is_main_process:
            folder.mkdir(parents=True, exist_ok=True)
            export(self.accelerator.unwrap_model(self.model), self.tokenizer, folder, state_dict=state)
        self.accelerator.wait_for_everyone()

    def save_state(self, folder: Path) -> None:
        self.accelerator.save_state(str(folder))

    def load_state(self, folder: Path) -> None:
        self.accelerator.load_state(str(folder))
