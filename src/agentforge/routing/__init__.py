"""Meta-agent routing: a `router` virtual model that sends each request (each
agent step) to one of several specialist models, chosen by a policy.

- specialist.py: a base model made into a specialist (system prompt, sampling overrides)
- features.py:   cheap, deterministic features of a request
- policy.py, rules.py, learned.py, meta_agent.py: fixed/random, rule, learned, llm policies
- router.py:     the Router backend; config.py: router files and `load_router`
- examples.py, evaluate.py: training data from harness run directories, offline evaluation
"""

from agentforge.routing.config import RouterSpec, load_router, read_router_spec
from agentforge.routing.policy import Decision, RoutingError
from agentforge.routing.router import Router
from agentforge.routing.specialist import Specialist, SpecialistSpec

__all__ = ["Decision", "Router", "RouterSpec", "RoutingError", "Specialist", "SpecialistSpec", "load_router",
           "read_router_spec"]
