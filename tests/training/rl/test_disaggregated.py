"""Disaggregated rollouts: the rollout process generates with the weights the trainer publishes.

Checked by logprobs: a group generated before the update carries the old
policy's logprobs of its tokens, and a group generated after the new weights
were published carries the new policy's (as the trainer computes them), which
differ. Runs the real rollout process (spawned) on a tiny random Llama.
"""

from __future__ import annotations

import time

import pytest

from agentforge.training.rl.sample import rows_of

from .synthetic import synthetic_rollouts


def trainer_logprobs(model, rollouts):
    """The trainer's logprob of every generated token of the rollouts (one row at a time, full logits)."""
    import torch

    out = []
    with torch.no_grad():
        for r in rollouts:
            for row in rows_of(r.turns):
                ids = torch.tensor([row.input_ids])
                logprobs = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
                at = [i for i, m in enumerate(row.loss_mask) if m]
                out += [float(logprobs[i - 1, row.input_ids[i]]) for i in at]
    return torch.tensor(out)


def engine_logprobs(rollouts):
    import torch

    return torch.tensor([lp for r in rollouts for row in rows_of(r.turns)
                         for lp, m in zip(row.infer_logprobs, row.loss_mask) if m])


def next_group(rollouts_source, at_least_version: int, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _task, _position, group, _seconds = rollouts_source.groups.get(timeout=timeout)
        if min(r.version for r in group) >= at_least_version:
            return group
    raise AssertionError(f"no group from policy version {at_least_version} within {timeout} s")


@pytest.mark.model  # the tiny model takes the real tokenizer
@pytest.mark.slow  # spawns the rollout process (torch + the engine): ~30 s
def test_the_rollout_process_generates_with_the_published_weights(tiny_llama, tmp_path):
    import torch

    from agentforge.training.rl.config import RlConfig
    from agentforge.training.rl.loop import Rollouts, RunState
    from agentforge.training.rl.loss import Objective
    from agentforge.training.rl.policy import Policy

    config = RlConfig(model=str(tiny_llama), out=tmp_path, mode="disaggregated", kinds=("step",), episodes=4,
                      group_size=2, groups_per_update=1, max_tokens=6, concurrency=1)
    policy = Policy(tiny_llama, lr=5e-2, objective=Objective(), micro_tokens=512)
    source = Rollouts(config, tiny_llama, policy, RunState())
    try:
        before = next_group(source, 0)
        model = policy.accelerator.unwrap_model(policy.model)
        model.eval()
        old = trainer_logprobs(model, before)
        assert torch.allclose(engine_logprobs(before), old, atol=2e-3), "version 0 must match the start weights"

        policy.update(synthetic_rollouts(5))  # a large step: the policy really changes
        source.publish(policy.engine_state(), 1)
        after = next_group(source, 1)
        model.eval()
        new = trainer_logprobs(model, after)
        assert torch.allclose(engine_logprobs(after), new, atol=2e-3), "version 1 must match the new weights"
        # and the new weights are not the old ones, seen on the same tokens
        from transformers import AutoModelForCausalLM

        start = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
        assert (trainer_logprobs(start, after) - new).abs().max() > 1e-2
    finally:
        source.close()


@pytest.mark.model
@pytest.mark.slow  # spawns the rollout process: ~30 s
def test_a_resumed_run_generates_its_first_groups_with_the_resumed_weights_and_version(tiny_llama, tmp_path):
    """At update 3 of a resumed run the rollout process starts from the published weights; its first
    groups carry version 3 (not 0, which the staleness bound would drop) and the trainer's logprobs."""
    import torch

    from agentforge.training.rl.config import RlConfig
    from agentforge.training.rl.loop import Rollouts, RunState
    from agentforge.training.rl.loss import Objective
    from agentforge.training.rl.policy import Policy

    config = RlConfig(model=str(tiny_llama), out=tmp_path, mode="disaggregated", kinds=("step",), episodes=4,
                      group_size=2, groups_per_update=1, max_tokens=6, concurrency=2)
    policy = Policy(tiny_llama, lr=5e-2, objective=Objective(), micro_tokens=512)
    policy.update(synthetic_rollouts(5))  # the weights a resumed run loads differ from the start's
    source = Rollouts(config, tiny_llama, policy, RunState(update=3))
    try:
        first = [source.groups.get(timeout=300)[2] for _ in range(2)]
        assert [min(r.version for r in group) for group in first] == [3, 3]
        model = policy.accelerator.unwrap_model(policy.model)
        model.eval()
        rollouts = [r for group in first for r in group]
        assert torch.allclose(engine_logprobs(rollouts), trainer_logprobs(model, rollouts), atol=2e-3)
    finally:
        source.close()
