"""Weight sync from the trainer to rollout engines.

- In process (colocated, validation): `EmbeddedBackend.load_weights` swaps the
  engine's model between two steps.
- Across processes (disaggregated, one machine): `SharedWeights` keeps one copy
  of the weights in shared memory. The trainer writes it after an update and
  bumps the version; the rollout process copies it out under the lock (a
  consistent snapshot) and swaps it into its engine.
- vLLM servers (many machines): not here. The path is vLLM's own weight update
  API as TRL's `vllm-serve` exposes it (`/init_communicator`, `/update_named_param`
  over NCCL, or LoRA adapters loaded by name); see docs/training.md.
"""

from __future__ import annotations

from typing import Any

import torch


class SharedWeights:
    def __init__(self, state: dict[str, torch.Tensor], context: Any) -> None:
        self.tensors = {k: v.detach().clone().float().share_memory_() for k, v in state.items()}
        self.version = context.Value("q", 0)
        self.lock = context.Lock()

    def publish(self, state: dict[str, torch.Tensor], version: int) -> None:
        with self.lock:
            for k, v in state.items():
                self.tensors[k].copy_(v)
            self.version.value = version

    def snapshot(self) -> tuple[dict[str, torch.Tensor], int]:
        with self.lock:
            return {k: v.clone() for k, v in self.tensors.items()}, int(self.version.value)

    def current_version(self) -> int:
        return int(self.version.value)
