"""The trainer's update: packing and masking give the gradient of the objective computed row by row,
and two CPU processes (gloo) give the update of one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import torch

from agentforge.training.rl.policy import batch_rows, pack, plan
from agentforge.training.sft.doc_attention import document_spans
from agentforge.training.rl.sample import rows_of

from .synthetic import synthetic_rollouts
from tests.training.sft.test_distributed import CPU_2PROC, ROOT, free_port


def test_masked_and_zero_advantage_rollouts_give_no_rows_and_packing_keeps_every_token():
    rollouts = synthetic_rollouts(0)
    rollouts[1].advantage = 0.0
    rows = batch_rows(rollouts)
    expected = [r for r in rollouts if not r.truncated and r.advantage != 0]
    assert len(rows) == sum(len(rows_of(r.turns)) for r in expected)
    packed = pack(rows, micro_tokens=160)
    assert all(len(p.input_ids) <= 160 or p.position_ids.count(0) == 1 for p in packed)
    # every row comes back whole from its segment (a branch: the shared prefix of its document + its own
    # tokens), with its loss mask and advantage; the G rollouts of a prompt did share it
    rebuilt, branches = [], 0
    for p in packed:
        for start, end in document_spans(torch.tensor([p.position_ids]))[0]:
            shared = p.position_ids[start]
            if shared == 0:
                root = p.input_ids[start:end], p.loss_mask[start:end]
            branches += shared > 0
            rebuilt.append((root[0][:shared] + p.input_ids[start:end], [0] * shared + p.loss_mask[start:end],
                            set(p.advantages[start:end])))
    assert [(ids, mask) for ids, mask, _ in rebuilt] == [(r.input_ids, r.loss_mask) for r, _ in rows]
    assert [adv for _, _, adv in rebuilt] == [{a} for _, a in rows]
    assert branches > 0 and sum(len(p.input_ids) for p in packed) < sum(len(r.input_ids) for r, _ in rows)
    mine = [plan(packed, 2, rank) for rank in (0, 1)]
    assert len(mine[0]) == len(mine[1])  # every process runs the same number of backward passes
    assert sum(p.weight for m in mine for p in m) == len(packed)  # padding weighs nothing


@pytest.mark.model  # the tiny model takes the real tokenizer
def test_the_packed_update_has_the_row_by_row_gradient(tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    from agentforge.training.rl.loss import Objective, policy_loss
    from agentforge.training.rl.policy import Policy

    objective = Objective(tis_cap=1.5)
    rollouts = synthetic_rollouts(3)
    policy = Policy(tiny_llama, lr=1e-3, objective=objective, micro_tokens=160)
    policy.max_grad_norm = 1e9
    captured = {}
    policy.optimizer.step = lambda: captured.update(
        {n: p.grad.clone() for n, p in policy.model.named_parameters() if p.grad is not None})
    stats = policy.update(rollouts)

    # The reference: each row on its own, full logits, no packing, the objective as written.
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    rows = batch_rows(rollouts)
    n_tokens = sum(r.loss_tokens for r, _ in rows)
    total = 0.0
    for row, advantage in rows:
        ids = torch.tensor([row.input_ids])
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        at = torch.tensor([i for i, m in enumerate(row.loss_mask) if m])
        logp = logprobs[at - 1].gather(1, ids[0, at].view(-1, 1)).view(-1)
        infer = torch.tensor(row.infer_logprobs)[at]
        loss, _ = policy_loss(logp, logp.detach(), infer, torch.full_like(logp, advantage), n_tokens, objective)
        loss.backward()
        total += float(loss)
    assert stats["loss"] == pytest.approx(total, rel=1e-4, abs=1e-6)
    assert stats["loss_tokens"] == n_tokens
    reference = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert captured.keys() == reference.keys()
    for name, grad in reference.items():
        assert torch.allclose(captured[name], grad, rtol=1e-3, atol=1e-6), name
    assert any(g.abs().sum() > 0 for g in reference.values())


@pytest.mark.model
def test_several_steps_per_batch_follow_the_objective_from_the_recorded_old_policy(tiny_llama):
    """Two mini-batches x two epochs = four AdamW steps, each against pi_old recorded before the first;
    the reference does the same row by row. Later steps see ratios != 1, so the clip binds."""
    import torch
    from transformers import AutoModelForCausalLM

    from agentforge.training.rl.loss import Objective, policy_loss
    from agentforge.training.rl.policy import Policy, split_groups

    objective, lr = Objective(), 2e-3
    rollouts = synthetic_rollouts(5)
    policy = Policy(tiny_llama, lr=lr, objective=objective, micro_tokens=160)
    stats = policy.update(rollouts, minibatches=2, epochs=2)
    assert stats["optimizer_steps"] == 4
    assert stats["clip_fraction"] > 0

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.999))

    def row_logp(row):
        ids = torch.tensor([row.input_ids])
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        at = torch.tensor([i for i, m in enumerate(row.loss_mask) if m])
        return logprobs[at - 1].gather(1, ids[0, at].view(-1, 1)).view(-1), at

    chunks = [batch_rows(chunk) for chunk in split_groups(rollouts, 2)]
    assert [len({r.task_id for r in c}) for c in split_groups(rollouts, 2)] == [2, 1]  # whole groups
    with torch.no_grad():
        old = [[row_logp(row)[0] for row, _ in rows] for rows in chunks]
    for _ in range(2):
        for rows, olds in zip(chunks, old):
            n_tokens = sum(r.loss_tokens for r, _ in rows)
            for (row, advantage), old_logp in zip(rows, olds):
                logp, at = row_logp(row)
                infer = torch.tensor(row.infer_logprobs)[at]
                loss, _ = policy_loss(logp, old_logp, infer, torch.full_like(logp, advantage), n_tokens, objective)
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    trained = dict(policy.accelerator.unwrap_model(policy.model).named_parameters())
    start = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).state_dict()
    for name, param in model.named_parameters():
        assert torch.allclose(trained[name].detach(), param.detach(), rtol=1e-3, atol=2e-5), name
    assert any(not torch.equal(p.detach(), start[n]) for n, p in model.named_parameters())


def run_update(argv: list[str], out: Path) -> tuple[list[dict], dict]:
    from safetensors.torch import load_file

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return json.loads((out / "stats.json").read_text()), load_file(out / "weights.safetensors")


@pytest.mark.model
@pytest.mark.slow  # three processes start torch: about a minute on 2 busy cores
def test_two_cpu_processes_give_the_update_of_one(tiny_llama, tmp_path):
    import torch
    from safetensors.torch import load_file

    script = str(Path(__file__).with_name("update_script.py"))
    one_stats, one = run_update([sys.executable, script, str(tiny_llama), str(tmp_path / "one")], tmp_path / "one")
    two_stats, two = run_update([sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CPU_2PROC),
                                 "--main_process_port", str(free_port()), script, str(tiny_llama),
                                 str(tmp_path / "two")], tmp_path / "two")
    for a, b in zip(one_stats, two_stats):
        assert b["loss_tokens"] == a["loss_tokens"]
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-6)
        assert b["entropy"] == pytest.approx(a["entropy"], rel=1e-4)
    start = load_file(tiny_llama / "model.safetensors")
    for name in one:
        assert torch.allclose(one[name], two[name], rtol=1e-4, atol=1e-6), name
    assert any(not torch.equal(one[n], start[n]) for n in one)  # the updates changed the weights
