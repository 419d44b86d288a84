"""One RL run, start to finish: rollouts, updates, weight sync, validation, checkpoints.

Colocated: the trainer's process owns the engine; each update first collects
its groups, then trains on them (the engine idles while the trainer works and
vice versa). Disaggregated: a rollout process (worker.py) generates all the
time; the trainer takes finished groups from the queue, drops those from
policies more than `max_staleness` updates old, and publishes new weights
after every update.

Either way a batch is `groups_per_update` groups that train: groups whose
rewards are all equal, or whose solve rate is out of range, or that are
mostly masked, are dropped and more are drawn (oversampling).

Re-running the same command on the same --out resumes from the last whole
checkpoint (weights, optimizer, update count, task position, best score).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue as queue_module
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentforge.training.rl.config import RlConfig
from agentforge.training.rl.groups import GroupFilter, keep_group
from agentforge.training.rl.guard import CollapseGuard
from agentforge.training.rl.sample import Rollout

log = logging.getLogger(__name__)

RUN_FILE, METRICS_FILE, CHECKPOINTS, BEST = "run.json", "metrics.jsonl", "checkpoints", "best"


class RunMismatch(ValueError):
    """--out holds a run with other settings."""


@dataclass
class RunState:
    update: int = 0
    position: int = 0  # of the training task stream
    best_score: float | None = None
    best_update: int | None = None
    stopped: str | None = None  # why the collapse guard stopped the run
    history: list[dict[str, Any]] = field(default_factory=list)  # validation results


@dataclass
class Batch:
    rollouts: list[Rollout]
    stats: dict[str, float]


def valid_tasks(config: RlConfig) -> list[tuple[Any, list]]:
    """(environment, held-out tasks) for each procedural environment of the schedule ("calls",
    "tools"); the tool-use episodes when it names neither (SWE and tau have no cheap held-out set)."""
    from agentforge.training.rl.envs.tool_calls import ToolCalls
    from agentforge.training.rl.envs.tool_episodes import ToolEpisodes
    from agentforge.training.rl.schedule import parse

    names = {name for name, _ in parse(config.schedule)}
    out = []
    if "calls" in names:
        env = ToolCalls(records=config.valid_calls)
        out.append((env, env.tasks("valid")))
    if "tools" in names or not out:
        env = ToolEpisodes(episodes=config.valid_episodes, kinds=tuple(config.kinds), max_calls=config.max_calls)
        tasks = env.tasks("valid")
        episodes = [t for t in tasks if t.kind == "episode"]
        steps = [t for t in tasks if t.kind == "step"][: config.valid_steps]
        out.append((env, episodes + steps))
    return out


class BatchBuilder:
    """Groups in, batches out: the filter, the staleness bound, and the statistics of what was dropped."""

    def __init__(self, config: RlConfig) -> None:
        self.config = config
        self.rule = GroupFilter(config.min_solve, config.max_solve)
        self.reset()

    def reset(self) -> None:
        self.kept: list[list[Rollout]] = []
        self.dropped: Counter = Counter()
        self.rewards: list[float] = []
        self.lengths: list[int] = []
        self.staleness: list[int] = []
        self.seconds: list[float] = []
        self.by_kind: dict[str, list[float]] = {}

    def offer(self, rollouts: list[Rollout], version: int, seconds: float) -> bool:
        """Take one group; True once the batch is full."""
        stale = version - min(r.version for r in rollouts)
        self.staleness.append(stale)
        self.seconds.append(seconds)
        for r in rollouts:
            self.rewards.append(r.reward)
            self.lengths.append(r.generated_tokens)
            self.by_kind.setdefault(r.info.get("kind", "task"), []).append(r.reward)
        if stale > self.config.max_staleness:
            self.dropped["stale"] += 1
        elif (why := keep_group(rollouts, self.rule)) is not None:
            self.dropped[why] += 1
        else:
            self.kept.append(rollouts)
        # Oversampling has a bound: a policy that solves everything (or nothing) still gets its update
        # (of the groups that were kept, possibly none) instead of drawing forever.
        return (len(self.kept) >= self.config.groups_per_update
                or len(self.staleness) >= self.config.groups_per_update * self.config.oversample)

    def take(self) -> Batch:
        n = max(1, len(self.rewards))
        stats = {
            "reward": sum(self.rewards) / n,
            "response_tokens": sum(self.lengths) / n,
            "groups_seen": float(len(self.staleness)),
            "groups_kept": float(len(self.kept)),
            "staleness_mean": sum(self.staleness) / max(1, len(self.staleness)),
            **{f"dropped_{k}": float(v) for k, v in self.dropped.items()},
            **{f"reward_{k}": sum(v) / len(v) for k, v in self.by_kind.items()},
        }
        batch = Batch([r for group in self.kept for r in group], stats)
        self.reset()
        return batch


def train(config: RlConfig, progress=None) -> RunState:
    import torch

    from agentforge.training.sft.metrics import read_metrics, truncate_metrics

    from agentforge.runtime.backends import checkpoint
    from agentforge.training.rl.loss import Objective
    from agentforge.training.rl.policy import Policy
    from agentforge.training.sft import checkpoints as ckpt

    config.check()
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    model_dir = checkpoint.resolve(config.model)
    state = _open_run(config, out)
    objective = Objective(config.eps_low, config.eps_high, config.tis_cap)
    if config.mode == "disaggregated":
        torch.set_num_threads(max(1, torch.get_num_threads() - config.rollout_threads))
    policy = Policy(model_dir, lr=config.lr, objective=objective, micro_tokens=config.micro_tokens)
    acc = policy.accelerator
    ckpt.remove_incomplete(out / CHECKPOINTS)
    last = ckpt.latest_complete(out / CHECKPOINTS)
    if last is not None:
        policy.load_state(last)
        state = RunState(**json.loads((last / RUN_FILE).read_text()))
        truncate_metrics(out / METRICS_FILE, state.update, key="update")
        log.info("resumed from %s (update %d)", last, state.update)
    rollouts = Rollouts(config, model_dir, policy, state) if acc.is_main_process else None
    builder = BatchBuilder(config)
    guard = CollapseGuard(config.guard_window, config.guard_reward_drop, config.guard_entropy_floor)
    for row in read_metrics(out / METRICS_FILE):  # a resumed run remembers what it saw
        guard.observe(row)
    try:
        if state.update == 0 and not state.history:
            state = _validation(config, policy, state, rollouts, out, None)
        while state.update < config.updates:
            started = time.time()
            batch = rollouts.collect(builder) if rollouts else None
            batch = _broadcast(acc, batch)
            rollout_s = time.time() - started
            stats = policy.update(batch.rollouts, config.minibatches, config.ppo_epochs)
            state.update += 1
            weights = policy.engine_state()  # a collective under FSDP: every process takes part
            if rollouts:
                state.position = rollouts.position
                rollouts.publish(weights, state.update)
            row = {"update": state.update, **batch.stats, **stats, "rollout_s": rollout_s,
                   "update_s": time.time() - started - rollout_s, "time": time.time()}
            if acc.is_main_process:
                with open(out / METRICS_FILE, "a") as f:
                    f.write(json.dumps(row) + "\n")
                if progress:
                    progress(row)
            collapsed = guard.observe(row) if config.guard_window else None
            if collapsed:
                state.stopped = collapsed
                log.warning("stopping: %s", collapsed)
                _save(policy, state, out)
                break
            if state.update % config.valid_every == 0 or state.update == config.updates:
                state = _validation(config, policy, state, rollouts, out, weights)
            if state.update % config.save_every == 0 or state.update == config.updates:
                _save(policy, state, out)
        policy.save_model(out)
        if acc.is_main_process:
            plot_run(out)
    finally:
        if rollouts:
            rollouts.close()
    return state


class Rollouts:
    """Where groups come from: the in-process engine (colocated) or the rollout process."""

    def __init__(self, config: RlConfig, model_dir: Path, policy, state: RunState) -> None:
        self.config, self.model_dir = config, model_dir
        self.position, self.version = state.position, state.update
        self.loop = asyncio.new_event_loop()
        self._local = None
        self._training = None  # colocated: the environments and the task stream, built once
        if config.mode == "disaggregated":
            import torch.multiprocessing as mp

            from agentforge.training.rl.weights import SharedWeights
            from agentforge.training.rl.worker import WorkerSpec, run_worker

            ctx = mp.get_context("spawn")
            self.weights = SharedWeights(policy.engine_state(), ctx)
            self.weights.version.value = self.version
            self.groups = ctx.Queue(maxsize=config.groups_per_update)
            self.stop = ctx.Event()
            spec = WorkerSpec(str(model_dir), config, self.position)
            self.process = ctx.Process(target=run_worker, args=(spec, self.weights, self.groups, self.stop),
                                       name="agentforge-rollouts", daemon=True)
            self.process.start()
        elif state.update:
            self.local().load_weights(policy.engine_state(), self.version)

    def local(self):
        """The trainer process's own engine (colocated rollouts, and validation)."""
        if self._local is None:
            from agentforge.runtime.backends.embedded import EmbeddedBackend

            self._local = EmbeddedBackend.load(self.model_dir, max_slots=max(16, self.config.group_size * 2))
        return self._local

    def collect(self, builder: BatchBuilder) -> Batch:
        if self.config.mode == "disaggregated":
            while True:
                try:
                    _task_id, position, rollouts, seconds = self.groups.get(timeout=5)
                except queue_module.Empty:
                    if not self.process.is_alive():
                        raise RuntimeError(f"the rollout process died (exit code {self.process.exitcode})")
                    continue
                self.position = max(self.position, position + 1)
                if builder.offer(rollouts, self.version, seconds):
                    return builder.take()
        return self.loop.run_until_complete(self._collect_local(builder))

    async def _collect_local(self, builder: BatchBuilder) -> Batch:
        from agentforge.training.rl.rollout import rollout_sampling, stream_groups
        from agentforge.training.rl.schedule import training_stream

        if self._training is None:
            self._training = training_stream(self.config, self.position)
        envs, stream = self._training
        async for group in stream_groups(envs, stream.next, self.local(), self.config.group_size,
                                         rollout_sampling(self.config.max_tokens), self.config.concurrency):
            if builder.offer(group.rollouts, self.version, group.seconds):
                break
        # groups still in flight are cancelled: colocated generation stops while the trainer trains
        self.position = stream.position
        return builder.take()

    def publish(self, state: dict, version: int) -> None:
        self.version = version
        if self.config.mode == "disaggregated":
            self.weights.publish(state, version)
        if self._local is not None:
            self._local.load_weights(state, version)

    def close(self) -> None:
        if self.config.mode == "disaggregated":
            self.stop.set()
            self.process.join(timeout=30)
            if self.process.is_alive():
                self.process.kill()
        if self._local is not None:
            self.loop.run_until_complete(self._local.aclose())
        self.loop.close()


def _validation(config: RlConfig, policy, state: RunState, rollouts: Rollouts | None, out: Path,
                weights: dict | None) -> RunState:
    """Score the policy on the held-out tasks (on the main process); keep it as best/ when it is the best."""
    acc = policy.accelerator
    if acc.is_main_process:
        _validate(config, state, rollouts, out, weights)
    state = _broadcast(acc, state)
    if state.best_update == state.update:
        policy.save_model(out / BEST)
    return state


def _validate(config: RlConfig, state: RunState, rollouts: Rollouts, out: Path, weights: dict | None) -> None:
    from agentforge.training.rl.rollout import eval_sampling, evaluate

    backend = rollouts.local()
    if weights is not None and config.mode == "disaggregated":
        backend.load_weights(weights, state.update)
    started = time.time()
    scores: dict[str, float] = {}
    for env, tasks in valid_tasks(config):
        scores.update(rollouts.loop.run_until_complete(
            evaluate(env, tasks, backend, eval_sampling(config.max_tokens), concurrency=config.concurrency)))
    kinds = [k for k in scores if not k.endswith("_n")]  # the mean over task kinds: each kind counts once
    score = sum(scores[k] for k in kinds) / len(kinds)
    result = {"update": state.update, "score": score, **scores, "seconds": time.time() - started}
    state.history.append(result)
    with open(out / METRICS_FILE, "a") as f:
        f.write(json.dumps({"update": state.update, **{f"valid_{k}": v for k, v in result.items() if k != "update"}})
                + "\n")
    log.info("validation at update %d: %s", state.update, result)
    if state.best_score is None or score > state.best_score:
        state.best_score, state.best_update = score, state.update


def _save(policy, state: RunState, out: Path) -> None:
    from agentforge.training.sft import checkpoints as ckpt

    folder = out / CHECKPOINTS / f"checkpoint-{state.update}"
    policy.save_state(folder)
    if policy.accelerator.is_main_process:
        (folder / RUN_FILE).write_text(json.dumps(state.__dict__, indent=1))
        ckpt.mark_complete(folder)
        ckpt.rotate(out / CHECKPOINTS, keep=2)
    policy.accelerator.wait_for_everyone()


def _open_run(config: RlConfig, out: Path) -> RunState:
    path = out / RUN_FILE
    identity = config.identity()
    if path.exists():
        defaults = RlConfig(model=config.model, out=out).identity()  # keys an older run.json lacks
        before = {**defaults, **json.loads(path.read_text())["config"]}
        changed = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if changed:
            raise RunMismatch(f"{out} holds an RL run with other settings ({', '.join(changed)}): "
                              "use another --out, or the same settings to resume it")
    else:
        path.write_text(json.dumps({"config": identity}, indent=1, default=str) + "\n")
    return RunState()


def _broadcast(acc, obj):
    if acc.num_processes == 1:
        return obj
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([obj], from_process=0)[0]


def plot_run(out: Path) -> Path:
    """rl.png: reward, entropy, response length, clip fraction per update, and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agentforge.training.sft.metrics import read_metrics

    rows = read_metrics(out / METRICS_FILE)
    train = [r for r in rows if "reward" in r]
    valid = [r for r in rows if "valid_score" in r]
    panels = [("reward", "train reward (all rollouts)"), ("entropy", "entropy (nats/token)"),
              ("response_tokens", "response tokens"), ("clip_fraction", "clip fraction")]
    fig, axes = plt.subplots(1, 5, figsize=(20, 3.6))
    for ax, (key, title) in zip(axes, panels):
        points = [(r["update"], r[key]) for r in train if key in r]
        if points:
            ax.plot(*zip(*points), linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
    ax = axes[-1]
    keys = sorted({k for r in valid for k in r if k.startswith("valid_") and not k.endswith(("_n", "seconds"))})
    if len(keys) == 2:  # one task kind: the score is that kind's line, drawn once
        keys.remove("valid_score")
    for key in keys:
        ax.plot([r["update"] for r in valid if key in r], [r[key] for r in valid if key in r], "o-", label=key[6:])
    ax.set_title("validation (greedy, held out)")
    ax.set_xlabel("update")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = out / "rl.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
