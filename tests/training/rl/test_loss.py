"""The objective against a hand-computed example: loss value, gradient and clip statistics."""

import math

import pytest
import torch

from agentforge.training.rl.loss import Objective, policy_loss


def test_loss_and_gradient_match_the_hand_computation():
    # Four loss tokens; N = 5 (the batch has a fifth loss token in another micro-batch).
    logp = torch.tensor([-1.0, -0.5, -2.0, -1.0], requires_grad=True)
    old = torch.tensor([-1.2, -1.0, -1.5, -1.0])
    infer = torch.tensor([-1.5, -1.0, -3.0, -0.9])
    adv = torch.tensor([1.0, 1.0, -1.0, -0.5])
    loss, stats = policy_loss(logp, old, infer, adv, 5, Objective(eps_low=0.2, eps_high=0.28, tis_cap=2.0))
    loss.backward()

    r1, w1 = math.exp(0.2), math.exp(0.3)  # inside the clip range; weight under the cap
    r2 = math.exp(0.5)  # above 1 + eps_high with A > 0: the clipped branch, 1.28, no gradient
    r3, w3 = math.exp(-0.5), 2.0  # below 1 - eps_low with A < 0: clipped at 0.8; e^1.5 capped at C = 2
    w4 = math.exp(-0.1)  # ratio 1
    terms = [-r1 * 1.0 * w1, -1.28 * 1.0 * 1.0, -(0.8 * -1.0) * w3, -(1.0 * -0.5) * w4]
    assert loss.item() == pytest.approx(sum(terms) / 5, rel=1e-6)
    assert r2 > 1.28 and r3 < 0.8
    # d/dlogp of -r A w is -r A w (r = exp(logp - old)); clipped tokens give none
    expected = [-r1 * w1 / 5, 0.0, 0.0, -(1.0 * -0.5) * w4 / 5]
    assert logp.grad.tolist() == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert stats["clip_high_tokens"] == 1 and stats["clip_low_tokens"] == 1
    assert stats["tis_capped_tokens"] == 1
    assert stats["tis_weight_sum"] == pytest.approx(w1 + 1.0 + w3 + w4, rel=1e-6)


def test_on_the_first_pass_the_gradient_is_the_importance_weighted_policy_gradient():
    """pi_old = pi_theta (detached): ratio 1, the gradient is -A w / N per token, whatever the sign of A."""
    logp = torch.tensor([-0.7, -2.3, -0.1], requires_grad=True)
    infer = torch.tensor([-0.7, -2.0, -0.5])
    adv = torch.tensor([0.5, -1.5, 2.0])
    loss, stats = policy_loss(logp, logp.detach(), infer, adv, 3, Objective(tis_cap=1.2))
    loss.backward()
    w = [1.0, math.exp(-0.3), min(math.exp(0.4), 1.2)]
    assert logp.grad.tolist() == pytest.approx([-a * wi / 3 for a, wi in zip(adv.tolist(), w)], rel=1e-6)
    assert stats["clip_low_tokens"] == stats["clip_high_tokens"] == 0


def test_no_kl_term_zero_advantage_means_zero_loss_and_gradient():
    logp = torch.tensor([-1.0, -3.0], requires_grad=True)
    loss, _ = policy_loss(logp, torch.tensor([-2.0, -1.0]), torch.tensor([-1.0, -1.0]), torch.zeros(2), 2, Objective())
    loss.backward()
    assert loss.item() == 0.0 and logp.grad.abs().sum().item() == 0.0
