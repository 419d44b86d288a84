"""Model backends, and `make_backend` to build one from a short spec string.

Each backend module is imported only when asked for: some pull in heavy
libraries (torch, litellm) that a plain `import agentforge` must not pay for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentforge.runtime.backends.base import Backend, BackendError, StreamEvent, TransientBackendError

__all__ = ["Backend", "BackendError", "StreamEvent", "TransientBackendError", "make_backend"]

SPEC_FORMS = """accepted backend specs:
  embedded                      the bundled CPU model (fp32: logits match transformers)
  embedded:int8                 the same with weight-only int8 matmuls (faster on CPU)
  embedded:<model-path>[+int8]  a local Llama-architecture model directory (e.g. agent train sft's <out>/final)
  embedded:int8:<model-path>    the same, int8
  openai:<model>@<base_url>     an OpenAI-compatible server (base_url may be left out for api.openai.com)
  http://host:port/v1           the one model an OpenAI-compatible server lists
  litellm:<provider/model>      any provider LiteLLM supports
  vllm:<model>                  launch a vLLM server for <model> and use it
  router:<file.toml|json>       a router over specialist models (see agentforge.routing)
  <any spec>@best-of-N:SELECTOR N candidates, one answer picked by SELECTOR"""


def _best_of_n(spec: str) -> tuple[str, int, str] | None:
    from agentforge.selectors.best_of_n import parse_virtual_model

    return parse_virtual_model(spec)  # a bad selector or N raises VirtualModelError, a ValueError


async def make_backend(spec: str, **kw: Any) -> Backend:
    """Build a backend from a spec such as `openai:qwen3-8b@http://localhost:8000/v1`."""
    if (best := _best_of_n(spec)) is not None:  # before the kinds: the base spec has a kind of its own
        base, n, selector = best
        from agentforge.selectors.best_of_n import BestOfN

        return BestOfN(await make_backend(base, **kw), n, selector, name=spec, owns_inner=True)
    kind, _, rest = spec.partition(":")
    if kind in ("http", "https"):
        from agentforge.runtime.backends.openai_backend import OpenAIBackend, served_model

        return OpenAIBackend(await served_model(spec), spec, **kw)
    if kind == "embedded":
        from agentforge.runtime.backends.embedded import EmbeddedBackend

        model, int8 = rest, False
        if model == "int8" or model.endswith("+int8"):
            model, int8 = model.removesuffix("int8").removesuffix("+"), True
        elif model.startswith("int8:"):  # embedded:int8:<path>, the order users try first
            model, int8 = model.removeprefix("int8:"), True
        # loading takes seconds: keep the event loop responsive meanwhile
        return await asyncio.to_thread(EmbeddedBackend.load, model or None, int8=int8, **kw)
    if kind == "openai" and rest:
        from agentforge.runtime.backends.openai_backend import OpenAIBackend

        # split at "@http" so that "@" in a model name or in URL credentials survives
        cut = rest.find("@http")
        model, base_url = (rest[:cut], rest[cut + 1:]) if cut > 0 else (rest, "")
        return OpenAIBackend(model, base_url or None, **kw)
    if kind == "litellm" and rest:
        from agentforge.runtime.backends.litellm_backend import LiteLLMBackend

        return LiteLLMBackend(rest, **kw)
    if kind == "router" and rest:
        from agentforge.routing import load_router

        return await load_router(rest)
    if kind == "vllm" and rest:
        from agentforge.runtime.backends.vllm_backend import VLLMBackend

        return await VLLMBackend.start(rest, **kw)
    raise ValueError(f"unknown backend spec {spec!r}; {SPEC_FORMS}")
