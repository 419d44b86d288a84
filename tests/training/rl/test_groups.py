"""Group-normalized advantages and which groups train."""

import math

import pytest

from agentforge.training.rl.groups import GroupFilter, advantages, keep_group
from agentforge.training.rl.sample import Rollout, Turn


def rollout(reward, truncated=False):
    return Rollout("t", [Turn([1], [2], [-0.1])], reward, truncated=truncated)


def test_advantages_are_reward_minus_mean_over_unbiased_std():
    # rewards 1, 0, 0, 1 -> mean 0.5, unbiased std sqrt(1/3)
    s = math.sqrt(1 / 3)
    assert advantages([1, 0, 0, 1]) == pytest.approx([0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s])
    assert advantages([0.5, 0.5]) == [0.0, 0.0]


def test_all_equal_groups_are_dropped_and_masked_rollouts_take_no_part():
    assert keep_group([rollout(1), rollout(1), rollout(1)], GroupFilter()) == "all_equal"
    group = [rollout(1), rollout(0), rollout(1, truncated=True), rollout(0)]
    assert keep_group(group, GroupFilter()) is None
    s = math.sqrt(1 / 3)  # over the three valid rollouts: 1, 0, 0
    assert [r.advantage for r in group] == pytest.approx([(2 / 3) / s, -(1 / 3) / s, 0.0, -(1 / 3) / s])
    # the masked one had reward 1: counting it would have changed the mean
    assert keep_group([rollout(1), rollout(0, truncated=True), rollout(0, truncated=True)], GroupFilter()) == "masked"


def test_solve_rate_range():
    group = [rollout(1), rollout(0), rollout(0), rollout(0)]  # p = 0.25
    assert keep_group(group, GroupFilter(0.25, 0.75)) is None
    assert keep_group(group, GroupFilter(0.3, 0.75)) == "solve_range"
