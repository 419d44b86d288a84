"""Grading and result files, by the official code and in the official shapes.

`grade` is tau2's own `evaluate_simulation(..., EvaluationType.ALL)`: the
termination gate, the replay of every recorded tool call on a fresh DB (a
recorded output that does not replay raises), the DB hashes of both sides
against the gold actions, COMMUNICATE, the product over `reward_basis`. We
write no scoring code of our own, so there is nothing to drift.

`results_document` is a τ² `Results` file (the info block, the tasks copied
verbatim from the package, one simulation per trial) that `tau2 evaluate-trajs`
re-grades.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

from agentforge.harnesses.taubench.package import load_tau2, new_environment

SUCCESS_TOLERANCE = 1e-6  # tau2.metrics.agent_metrics.is_successful


def is_success(reward: float) -> bool:
    return abs(reward - 1.0) <= SUCCESS_TOLERANCE


def grade(domain: str, task: Any, run: Any) -> Any:
    """The official RewardInfo of one simulation (a tampered trajectory raises ValueError)."""
    load_tau2()
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation

    return evaluate_simulation(simulation=run, task=task, evaluation_type=EvaluationType.ALL, solo_mode=False,
                               domain=domain)


def results_document(domain: str, tasks: Sequence[Any], runs: Sequence[Any], *, num_trials: int, max_steps: int,
                     max_errors: int, seed: int, agent_llm: str, agent_args: dict, user_llm: str,
                     user_args: dict, git_commit: str) -> Any:
    """A tau2 `Results` for one domain (tasks in the package's order, simulations by task then trial)."""
    load_tau2()
    from tau2.data_model.simulation import AgentInfo, Info, Results, UserInfo
    from tau2.user.user_simulator import get_global_user_sim_guidelines

    environment = new_environment(domain)
    user_tools = getattr(environment, "user_tools", None)
    info = Info(
        git_commit=git_commit, num_trials=num_trials, max_steps=max_steps, max_errors=max_errors, seed=seed,
        user_info=UserInfo(implementation="user_simulator", llm=user_llm, llm_args=user_args,
                           global_simulation_guidelines=get_global_user_sim_guidelines(use_tools=bool(user_tools))),
        agent_info=AgentInfo(implementation="llm_agent", llm=agent_llm, llm_args=agent_args),
        environment_info=environment.get_info(include_tool_info=False))
    return Results(timestamp=_dt.datetime.now().isoformat(), info=info, tasks=list(tasks), simulations=list(runs))
