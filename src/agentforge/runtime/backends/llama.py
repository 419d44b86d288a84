"""A minimal Llama forward pass with a slot-based KV cache, for CPU serving.

Why not `transformers.generate`: serving needs continuous batching (sequences
join and leave the batch at any step), per-sequence sampling options and the
raw log-probabilities of every step, and the per-layer Python overhead of a
general-purpose model class dominates a 135M model on two cores. This file is
the whole model: read it top to bottom. Its logits match transformers' Llama
(checked by tests/runtime/test_llama.py).

KV cache layout: one tensor per layer, [slots, kv_heads, capacity, head_dim].
The engine keeps active sequences in slots 0..B-1 so a decode step attends
over a view of the cache, never a gathered copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    rms_norm_eps: float
    rope_theta: float
    max_positions: int

    @classmethod
    def from_hf(cls, cfg: Mapping[str, Any]) -> "LlamaConfig":
        rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
        if rope.get("rope_type", "default") not in ("default", None):
            raise ValueError(f"rope type {rope.get('rope_type')!r} is not supported by the embedded engine")
        heads = cfg["num_attention_heads"]
        return cls(
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            num_layers=cfg["num_hidden_layers"],
            num_heads=heads,
            num_kv_heads=cfg.get("num_key_value_heads", heads),
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            intermediate_size=cfg["intermediate_size"],
            rms_norm_eps=cfg.get("rms_norm_eps", 1e-6),
            rope_theta=rope.get("rope_theta", cfg.get("rope_theta", 10000.0)),
            max_positions=cfg.get("max_position_embeddings", 2048),
        )


class Linear:
    """y = x @ W.T, in fp32, or for small batches with weight-only int8 (per
    output channel scales, bf16 activations): 4x less weight memory traffic,
    which is what bounds decoding on a CPU. Activations are not quantized:
    SmolLM2's activation outliers make that useless. Big inputs (prefill)
    stay fp32, where the int8 kernel is slower than MKL."""

    INT8_MAX_ROWS = 32

    def __init__(self, weight: torch.Tensor, int8: bool):
        self.weight = weight.contiguous()
        self.int8 = None
        if int8:
            scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-12)
            q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            self.int8 = (q, scale.to(torch.bfloat16).contiguous())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1]
        if self.int8 is None or rows > self.INT8_MAX_ROWS:
            return F.linear(x, self.weight)
        y = torch.ops.aten._weight_int8pack_mm(x.reshape(rows, x.shape[-1]).bfloat16(), *self.int8)
        return y.float().view(*x.shape[:-1], -1)


class Layer:
    def __init__(self, sd: Mapping[str, torch.Tensor], prefix: str, int8: bool = False):
        w = lambda name: sd[prefix + name].contiguous()  # noqa: E731
        # Fused projections: one matmul instead of three (q, k, v) or two (gate, up).
        # Weights stay [out, in] (F.linear): measurably faster than [in, out] for
        # the small batches of decoding with MKL on our CPUs.
        self.qkv = Linear(torch.cat([w("self_attn.q_proj.weight"), w("self_attn.k_proj.weight"), w("self_attn.v_proj.weight")]), int8)
        self.o = Linear(w("self_attn.o_proj.weight"), int8)
        self.gate_up = Linear(torch.cat([w("mlp.gate_proj.weight"), w("mlp.up_proj.weight")]), int8)
        self.down = Linear(w("mlp.down_proj.weight"), int8)
        self.attn_norm = w("input_layernorm.weight")
        self.mlp_norm = w("post_attention_layernorm.weight")


class KVCache:
    """Per-layer key/value tensors for `slots` sequences, `capacity` positions each.

    `ensure` grows it on demand (for direct use of the model); the engine
    instead sizes its caches with `resize` to what its sequences hold, within
    its memory budget (see kv_budget.py)."""

    def __init__(self, cfg: LlamaConfig, slots: int, capacity: int = 512):
        self.cfg, self.slots, self.capacity = cfg, slots, capacity
        shape = (slots, cfg.num_kv_heads, capacity, cfg.head_dim)
        self.k = [torch.zeros(shape) for _ in range(cfg.num_layers)]
        self.v = [torch.zeros(shape) for _ in range(cfg.num_layers)]

    @staticmethod
    def bytes_per_position(cfg: LlamaConfig) -> int:
        """Bytes one position of one slot takes: keys and values of every layer (fp32)."""
        return cfg.num_layers * 2 * cfg.num_kv_heads * cfg.head_dim * 4

    @property
    def nbytes(self) -> int:
        return self.slots * self.capacity * self.bytes_per_position(self.cfg)

    def ensure(self, length: int) -> None:
        """Make room for `length` positions (doubling, so growth is amortized)."""
        if length <= self.capacity:
            return
        if length > self.cfg.max_positions:
            raise ValueError(f"sequence of {length} tokens exceeds the model's context of {self.cfg.max_positions}")
        self.resize(self.slots, min(max(length, 2 * self.capacity), self.cfg.max_positions))

    def resize(self, slots: int, capacity: int, keep: tuple[int, int] | None = None) -> None:
        """Reallocate to [slots, capacity], keeping the first keep=(slots, positions)
        of the old tensors (default: all that fits). The old tensors are freed."""
        rows, length = keep if keep is not None else (min(slots, self.slots), min(capacity, self.capacity))
        for kv in (self.k, self.v):
            for i, t in enumerate(kv):
                new = torch.zeros(slots, t.shape[1], capacity, t.shape[3])
                new[:rows, :, :length] = t[:rows, :, :length]
                kv[i] = new
        self.slots, self.capacity = slots, capacity

    def copy_slot(self, src: int, dst: int, length: int, source: "KVCache | None" = None) -> None:
        """Copy `length` positions of slot `src` (of `source`, default this cache) into slot `dst`."""
        source = source or self
        for mine, theirs in ((self.k, source.k), (self.v, source.v)):
            for t, s in zip(mine, theirs):
                t[dst, :, :length] = s[src, :, :length]


class Llama:
    def __init__(self, cfg: LlamaConfig, state_dict: Mapping[str, torch.Tensor], int8: bool = False):
        self.cfg, self.int8 = cfg, int8
        self.embed = state_dict["model.embed_tokens.weight"].contiguous()
        head = state_dict.get("lm_head.weight", self.embed).contiguous()
        self.lm_head = Linear(head, int8)
        # fp32, one row: a matrix-vector product over the transposed copy is
        # ~2x faster than F.linear (measured: 8 vs 15 ms).
        self.lm_head_t = None if int8 else head.t().contiguous()
        self.norm = state_dict["model.norm.weight"]
        self.layers = [Layer(state_dict, f"model.layers.{i}.", int8) for i in range(cfg.num_layers)]
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim))
        angles = torch.outer(torch.arange(cfg.max_positions, dtype=torch.float64), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.cos, self.sin = angles.cos().float(), angles.sin().float()

    def _rms_norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg.rms_norm_eps) * weight

    def _rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    @torch.inference_mode()
    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, cache: KVCache, slots: torch.Tensor) -> torch.Tensor:
        """Run `tokens` [B, T] at `positions` [B, T] for cache rows `slots` [B].

        Each row's keys/values are written into its slot; each token attends to
        its slot's positions up to and including its own. Rows of a batch may be
        at different positions. Returns last-position logits [B, vocab].
        """
        cfg = self.cfg
        B, T = tokens.shape
        H, KV, D = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        length = int(positions.max()) + 1
        cache.ensure(length)
        cos = self.cos[positions].unsqueeze(1)  # [B, 1, T, D]
        sin = self.sin[positions].unsqueeze(1)
        # Position p may see cached positions 0..p of its own slot.
        mask = torch.arange(length).view(1, 1, 1, length) <= positions.view(B, 1, T, 1)
        contiguous = bool((slots == torch.arange(B)).all())
        x = self.embed[tokens]
        for i, layer in enumerate(self.layers):
            h = layer.qkv(self._rms_norm(x, layer.attn_norm))
            q, k, v = h.split([H * D, KV * D, KV * D], dim=-1)
            q = self._rope(q.view(B, T, H, D).transpose(1, 2), cos, sin)
            k = self._rope(k.view(B, T, KV, D).transpose(1, 2), cos, sin)
            v = v.view(B, T, KV, D).transpose(1, 2)
            kc, vc = cache.k[i], cache.v[i]
            rows = slots.view(B, 1)
            kc[rows, :, positions] = k.transpose(1, 2)  # [B, T, KV, D] into (slot, position)
            vc[rows, :, positions] = v.transpose(1, 2)
            if contiguous:
                keys, values = kc[:B, :, :length], vc[:B, :, :length]
            else:
                keys, values = kc[slots, :, :length], vc[slots, :, :length]
            a = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=H != KV)
            x = x + layer.o(a.transpose(1, 2).reshape(B, T, H * D))
            gate, up = layer.gate_up(self._rms_norm(x, layer.mlp_norm)).chunk(2, dim=-1)
            x = x + layer.down(F.silu(gate) * up)
        last = self._rms_norm(x[:, -1], self.norm)
        return last @ self.lm_head_t if B == 1 and self.lm_head_t is not None else self.lm_head(last)
