"""The environments `agent train rl --schedule` can name, each built from the run's config."""

from __future__ import annotations

from typing import Any, Callable

from agentforge.training.rl.envs.base import Environment


def _tools(config: Any) -> Environment:
    from agentforge.training.rl.envs.tool_episodes import ToolEpisodes

    return ToolEpisodes(episodes=config.episodes, kinds=tuple(config.kinds), max_calls=config.max_calls,
                        episode_share=config.episode_share)


ENVIRONMENTS: dict[str, Callable[[Any], Environment]] = {"tools": _tools}


def make_environment(name: str, config: Any) -> Environment:
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r}; known: {', '.join(sorted(ENVIRONMENTS))}")
    return ENVIRONMENTS[name](config)
