"""The environments `agent train rl --schedule` can name, each built from the run's config."""

from __future__ import annotations

from typing import Any, Callable

from agentforge.training.rl.envs.base import Environment


def _tools(config: Any) -> Environment:
    from agentforge.training.rl.envs.tool_episodes import ToolEpisodes

    return ToolEpisodes(episodes=config.episodes, kinds=tuple(config.kinds), max_calls=config.max_calls,
                        episode_share=config.episode_share)


def _calls(config: Any) -> Environment:
    from agentforge.training.rl.envs.tool_calls import ToolCalls

    return ToolCalls(records=config.calls)


def _swe(config: Any) -> Environment:
    from agentforge.training.rl.envs.swe import SweInstances

    return SweInstances(max_steps=config.swe_steps)


def _taubench(config: Any) -> Environment:
    from agentforge.training.rl.envs.taubench import TauTrain

    return TauTrain(user=LazyBackend(config.user_model))


class LazyBackend:
    """A model spec's backend, made on first use (in the process and event loop that use it)."""

    def __init__(self, spec: str) -> None:
        self.spec, self._backend = spec, None

    async def complete(self, messages, tools=None, n=1, sampling=None):
        if self._backend is None:
            from agentforge.models import make_model

            self._backend = await make_model(self.spec)
        return await self._backend.complete(messages, tools, n, sampling)


ENVIRONMENTS: dict[str, Callable[[Any], Environment]] = {"tools": _tools, "calls": _calls, "swe": _swe,
                                                          "taubench": _taubench}


def make_environment(name: str, config: Any) -> Environment:
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r}; known: {', '.join(sorted(ENVIRONMENTS))}")
    return ENVIRONMENTS[name](config)
