"""The paper's objective (a GRPO variant), one function per concept.

For every loss token t of a rollout with advantage A:

    r_t = pi_theta(t) / pi_old(t)                      (the PPO ratio)
    w_t = min(pi_old(t) / pi_infer(t), C)              (truncated importance sampling, no gradient)
    l_t = -min(r_t A, clip(r_t, 1 - eps_low, 1 + eps_high) A) * w_t

    loss = sum_t l_t / N                               (N: loss tokens of the whole batch, every process)

pi_infer is the logprob the inference engine recorded when it sampled t; pi_old
is the trainer's policy when the update started (equal to pi_theta in value
on the first pass, so r_t = 1 there and its gradient is that of log pi_theta).
The weight w_t corrects for both the engine/trainer mismatch and the policy
lag of a stale rollout, and its cap C bounds the variance. No KL term, no
entropy bonus: as in the paper (and DAPO).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Objective:
    eps_low: float = 0.2  # DAPO's clip-low / clip-higher
    eps_high: float = 0.28
    tis_cap: float = 2.0  # C in min(pi_old / pi_infer, C)


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, infer_logp: torch.Tensor, advantages: torch.Tensor,
                n_tokens: float, objective: Objective) -> tuple[torch.Tensor, dict[str, float]]:
    """The summed token losses divided by `n_tokens`; all inputs are flat over loss tokens.

    Returns the loss and what to log: the clip fractions and the mean importance weight."""
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1 - objective.eps_low, 1 + objective.eps_high)
    weight = torch.exp(old_logp - infer_logp).clamp(max=objective.tis_cap).detach()
    per_token = -torch.min(ratio * advantages, clipped * advantages) * weight
    loss = per_token.sum() / n_tokens
    with torch.no_grad():
        low = ((ratio < 1 - objective.eps_low) & (advantages < 0)).float()
        high = ((ratio > 1 + objective.eps_high) & (advantages > 0)).float()
        stats = {
            "clip_low_tokens": float(low.sum()),
            "clip_high_tokens": float(high.sum()),
            "tis_capped_tokens": float((torch.exp(old_logp - infer_logp) > objective.tis_cap).float().sum()),
            "tis_weight_sum": float(weight.sum()),
        }
    return loss, stats
