"""Multi-turn RL (`agent train rl`): the paper's GRPO variant on rollouts from our own runtime.

- `sample.py`: what a rollout gives the trainer: the token ids the engine read and wrote, never re-tokenized.
- `groups.py`: group-normalized advantages and which groups train (masked, all-equal, solve-rate range).
- `loss.py`: the objective (token-level, asymmetric clip, truncated importance sampling, no KL).
- `envs/`: environments (tasks + rollout + reward); `rollout.py`: G rollouts per task against a Backend.
- `policy.py`: the trainable model; `weights.py`: weight sync to the rollout engine.
- `loop.py`: colocated and disaggregated training, validation, checkpoints; `worker.py`: the rollout process.
- `schedule.py`: multi-task cycles over environments; `guard.py`: the collapse guard; `cli.py`: the command.
"""
