"""Multi-task schedules and the collapse guard."""

import pytest

from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.guard import CollapseGuard
from agentforge.training.rl.schedule import MixedStream, parse


def tasks(prefix, n):
    return [RLTask(f"{prefix}{i}", "episode") for i in range(n)]


def test_schedule_parses_and_refuses_nonsense():
    assert parse("tools:3,swe:1") == [("tools", 3), ("swe", 1)]
    assert parse("tools") == [("tools", 1)]
    for bad in ("tools:0", "tools:x", ":3", "tools:1,tools:2"):
        with pytest.raises(ValueError, match="schedule"):
            parse(bad)


def test_the_stream_follows_the_cycle_and_resumes_every_environment_where_it_was():
    pool = {"tools": tasks("t", 5), "swe": tasks("s", 3)}
    stream = MixedStream(pool, parse("tools:3,swe:1"), seed=0)
    drawn = [stream.next() for _ in range(11)]
    assert [t.env for t in drawn] == ["tools", "tools", "tools", "swe"] * 2 + ["tools"] * 3
    assert all(t.id.startswith("t" if t.env == "tools" else "s") for t in drawn)
    assert sorted([t.id for t in drawn if t.env == "tools"][:5]) == ["t0", "t1", "t2", "t3", "t4"]  # an epoch
    resumed = MixedStream(pool, parse("tools:3,swe:1"), seed=0, position=6)
    assert [resumed.next().id for _ in range(5)] == [t.id for t in drawn[6:]]


def test_the_guard_stops_on_a_reward_cliff_or_dead_entropy_not_on_noise():
    guard = CollapseGuard(window=3, reward_drop=0.3, entropy_floor=0.02)
    for r in (0.5, 0.6, 0.4, 0.55, 0.45, 0.5):
        assert guard.observe({"reward": r, "entropy": 0.5}) is None
    reasons = [guard.observe({"reward": 0.05, "entropy": 0.5}) for _ in range(3)]
    assert reasons[-1] and "reward collapsed" in reasons[-1]
    flat = CollapseGuard(window=3, reward_drop=0.9, entropy_floor=0.02)
    reasons = [flat.observe({"reward": 0.5, "entropy": 0.001}) for _ in range(3)]
    assert reasons[:2] == [None, None] and "entropy collapsed" in reasons[2]
    assert flat.observe({"valid_score": 0.1}) is None  # validation rows are not training rows


def test_every_registered_environment_builds_from_a_run_config(tmp_path):
    from agentforge.training.rl.config import RlConfig
    from agentforge.training.rl.envs.registry import ENVIRONMENTS, make_environment

    config = RlConfig(model="embedded", out=tmp_path, schedule="tools:3,calls:2,swe:1,taubench:1")
    config.check()
    assert set(ENVIRONMENTS) == {"tools", "calls", "swe", "taubench"}
    for name in ENVIRONMENTS:
        env = make_environment(name, config)
        assert callable(env.rollout) and callable(env.tasks)
    with pytest.raises(ValueError, match="unknown environments"):
        RlConfig(model="embedded", out=tmp_path, schedule="tools:1,chess:1").check()


def test_the_guard_stops_when_no_group_trains_for_a_window_of_updates():
    """The calls run at lr 5e-5: from update 6 on every drawn group had 8 equal rewards, so nothing
    trained and no entropy was logged; the entropy rule cannot see that."""
    guard = CollapseGuard(window=3, reward_drop=0.9, entropy_floor=0.02)
    kept = {"reward": 0.4, "entropy": 0.5, "groups_kept": 2}
    idle = {"reward": 0.5, "groups_kept": 0}  # no entropy: no token trained
    assert [guard.observe(r) for r in (kept, idle, idle, kept, idle, idle)] == [None] * 6  # gaps reset the count
    assert "nothing to learn" in guard.observe(idle)
