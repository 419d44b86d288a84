"""Any model from its spec: `make_model("embedded:int8@best-of-4:vote")`.

The grammar is parsed in one place (agentforge.runtime.backends.spec). The
runtime builds the plain backends (embedded, openai, http, litellm, vllm);
this module adds the wrappers, each from the layer that owns it: best-of-N
(and DeepConf online) from agentforge.selectors, routers from
agentforge.routing. It sits above both and below everything that takes a
model spec from a user: serving, the harnesses, training, the CLI.
"""

from __future__ import annotations

from typing import Any

from agentforge.runtime import backends
from agentforge.runtime.backends import Backend, ModelSpec, parse_spec

__all__ = ["make_model"]


async def make_model(spec: str | ModelSpec, **kw: Any) -> Backend:
    """The Backend a spec names; `kw` go to the plain backend at its core.

    A ValueError (SpecError, VirtualModelError, RoutingError) says what is
    wrong with the spec and how to write it.
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if parsed.kind == "best-of-n":
        from agentforge.selectors.best_of_n import BestOfN, parse_virtual_model

        parse_virtual_model(parsed.text)  # an unknown selector fails before the base model loads
        assert parsed.base is not None
        return BestOfN(await make_model(parsed.base, **kw), parsed.n, parsed.selector, name=parsed.text,
                       owns_inner=True)
    if parsed.kind == "router":
        from agentforge.routing import load_router

        return await load_router(parsed.model, make=make_model)
    return await backends.make_backend(parsed.text, **kw)  # through the module: tests replace it there
