"""Scale-out: `agent train sft` under `accelerate launch`.

- Two CPU processes (gloo, configs/accelerate/cpu-2proc.yaml) train to the
  same losses and weights as one process for the same global batch: the rows
  of each optimizer step are the same, and the loss is a sum over labelled
  tokens divided by the step's labelled tokens counted across processes.
- The FSDP config for a GPU node is read by accelerate the way we mean it:
  FSDP2 full shard, bf16, each decoder layer (Llama or Qwen3) wrapped on its
  own, activation checkpointing. It cannot run here (no GPU); what accelerate
  makes of the file is checked instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CPU_2PROC = ROOT / "configs" / "accelerate" / "cpu-2proc.yaml"
FSDP_GPU = ROOT / "configs" / "accelerate" / "fsdp-gpu.yaml"


def weather_record(i: int) -> dict:
    """A tool call, its result and an answer; cities and figures vary so rows differ."""
    city = ["Lyon", "Porto", "Osaka", "Quito", "Perth", "Oslo", "Cairo", "Lima"][i % 8]
    call = {"id": "c0", "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city, "days": 1 + i % 3})}}
    return {"messages": [
        {"role": "user", "content": f"How warm will it be in {city} over the next {1 + i % 3} days?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c0", "content": json.dumps({"high_c": 10 + i, "rain_mm": i % 5})},
        {"role": "assistant", "content": f"Highs around {10 + i} °C in {city}" + (", with rain." if i % 5 else ".")}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Forecast for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                           "required": ["city"]}}}]}


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory, checkpoint_dir) -> Path:
    """The real model's config cut to 2 layers of hidden size 64, randomly initialised; the real tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from agentforge.training.sft.run import load_tokenizer

    config = AutoConfig.from_pretrained(checkpoint_dir)
    config.num_hidden_layers, config.hidden_size, config.intermediate_size = 2, 64, 128
    config.num_attention_heads, config.num_key_value_heads, config.head_dim = 4, 2, 16
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder, safe_serialization=True)
    load_tokenizer(checkpoint_dir).save_pretrained(folder)
    return folder


@pytest.fixture
def records(tmp_path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(weather_record(i)) + "\n" for i in range(40)))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sft_argv(model: Path, data: Path, out: Path, grad_accum: int) -> list[str]:
    return ["-m", "agentforge", "train", "sft", "--model", str(model), "--data", str(data), "--out", str(out),
            "--max-steps", "3", "--seq-len", "512", "--batch-size", "1", "--grad-accum", str(grad_accum),
            "--lr", "1e-3", "--warmup-ratio", "0", "--eval-fraction", "0", "--save-steps", "100"]


def run(argv: list[str], out: Path) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [m for m in lines if "loss" in m]


@pytest.mark.model  # the tiny model takes the real tokenizer
@pytest.mark.slow  # two runs in subprocesses, one of them two processes: about a minute on 2 busy cores
def test_two_cpu_processes_give_the_losses_of_one(tiny_llama, records, tmp_path):
    import torch
    from safetensors.torch import load_file

    started = time.monotonic()
    one = run([sys.executable] + sft_argv(tiny_llama, records, tmp_path / "one", grad_accum=4),
              tmp_path / "one")
    two = run([sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CPU_2PROC),
               "--main_process_port", str(free_port())]
              + sft_argv(tiny_llama, records, tmp_path / "two", grad_accum=2), tmp_path / "two")
    print(f"1 process and 2 processes: {time.monotonic() - started:.0f} s")

    assert [m["step"] for m in one] == [m["step"] for m in two] == [1, 2, 3]
    # the runs really learn (the losses move), and the two agree step by step
    assert abs(one[-1]["loss"] - one[0]["loss"]) > 1e-3
    for a, b in zip(one, two):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-5), (one, two)
    # a step is 4 rows either way (1 x 4 here, 2 x 2 there): the same real tokens went through
    assert one[-1].get("tokens") == two[-1].get("tokens")

    # the exported weights agree too: both processes applied the same averaged gradients
    w1 = load_file(tmp_path / "one" / "final" / "model.safetensors")
    w2 = load_file(tmp_path / "two" / "final" / "model.safetensors")
    assert w1.keys() == w2.keys()
    moved = load_file(tiny_llama / "model.safetensors")
    for name in w1:
        assert torch.allclose(w1[name], w2[name], rtol=1e-4, atol=1e-5), name
    assert any(not torch.equal(w1[n], moved[n]) for n in w1)  # training changed the weights


def fsdp_launch_env(config: Path, monkeypatch) -> dict[str, str]:
    """The environment `accelerate launch --config_file config` gives each process."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(config), "-m", "agentforge", "train", "sft"])
    args, _, _ = _validate_launch_command(args)
    assert args.use_fsdp and args.module
    env = prepare_multi_gpu_env(args)  # (sets args.nproc_per_node from the file's num_processes)
    assert args.nproc_per_node == "8"
    for key, value in env.items():
        if key.startswith(("FSDP_", "ACCELERATE_")):
            monkeypatch.setenv(key, value)
    return env


@pytest.mark.parametrize("family", ["llama", "qwen3"])
def test_fsdp_config_wraps_each_decoder_layer(family, monkeypatch):
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    env = fsdp_launch_env(FSDP_GPU, monkeypatch)
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and env["ACCELERATE_USE_FSDP"] == "true"
    plugin = FullyShardedDataParallelPlugin()  # reads the FSDP_* variables, as in each launched process
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True  # full shard
    assert plugin.activation_checkpointing is True and plugin.cpu_ram_efficient_loading is True
    assert "SHARDED_STATE_DICT" in str(plugin.state_dict_type)

    small = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=8)
    model = (LlamaForCausalLM(LlamaConfig(**small)) if family == "llama" else Qwen3ForCausalLM(Qwen3Config(**small)))
    policy = fsdp2_prepare_auto_wrap_policy(plugin, model)
    wrapped = [type(m).__name__ for m in model.modules() if policy(m)]
    layer = "LlamaDecoderLayer" if family == "llama" else "Qwen3DecoderLayer"
    assert wrapped.count(layer) == 2 and set(wrapped) <= {layer, "Embedding", "Linear"}, wrapped


@pytest.mark.model
def test_export_writes_the_gathered_weights(tiny_llama, tmp_path):
    """Under FSDP the model object holds one shard; export writes the full
    state dict every process gathered instead (FSDP itself cannot run here)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from agentforge.training.sft.export import export
    from agentforge.training.sft.run import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    gathered = {k: v + 1.0 for k, v in model.state_dict().items()}
    final = export(model, load_tokenizer(tiny_llama), tmp_path, state_dict=gathered)
    saved = load_file(final / "model.safetensors")
    assert saved and all(torch.equal(saved[k], gathered[k]) for k in saved)
    assert not torch.equal(saved["model.norm.weight"], model.state_dict()["model.norm.weight"])
    reloaded = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
    assert torch.equal(reloaded.lm_head.weight, gathered["model.embed_tokens.weight"])  # tied, as SmolLM2 is
