"""Run as a script (one process, or several under `accelerate launch`): two policy updates on the
synthetic rollouts; the main process writes the weights and the statistics to OUT."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.training.rl.synthetic import synthetic_rollouts  # noqa: E402


def main(model: str, out: str) -> None:
    import torch
    from safetensors.torch import save_file

    from agentforge.training.rl.loss import Objective
    from agentforge.training.rl.policy import Policy

    torch.manual_seed(0)
    policy = Policy(Path(model), lr=1e-3, objective=Objective(), micro_tokens=160)
    stats = [policy.update(synthetic_rollouts(seed)) for seed in (1, 2)]
    state = policy.engine_state()
    if policy.accelerator.is_main_process:
        Path(out).mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items() if k != "lm_head.weight"}, f"{out}/weights.safetensors")
        Path(out, "stats.json").write_text(json.dumps(stats))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
