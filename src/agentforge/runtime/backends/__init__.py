"""Model backends, and `make_backend` to build a plain one from a spec string (the grammar: spec.py).

Each backend module is imported only when asked for: some pull in heavy
libraries (torch, litellm) that a plain `import agentforge` must not pay for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentforge.runtime.backends.base import Backend, BackendError, StreamEvent, TransientBackendError
from agentforge.runtime.backends.spec import SPEC_FORMS, ModelSpec, SpecError, parse_spec

__all__ = ["Backend", "BackendError", "ModelSpec", "SPEC_FORMS", "SpecError", "StreamEvent", "TransientBackendError",
           "make_backend", "parse_spec"]


async def make_backend(spec: str | ModelSpec, **kw: Any) -> Backend:
    """Build a plain backend from a spec such as `openai:qwen3-8b@http://localhost:8000/v1`.

    Best-of-N and router specs wrap other models: `agentforge.models.make_model`
    builds those (and every plain spec too); here they are a ValueError.
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if not parsed.plain:
        raise SpecError(f"{parsed.text!r} is a {parsed.kind} model, built above the runtime: "
                        "use agentforge.models.make_model")
    if parsed.kind == "http":
        from agentforge.runtime.backends.openai_backend import OpenAIBackend, served_model

        return OpenAIBackend(await served_model(parsed.text), parsed.text, **kw)
    if parsed.kind == "embedded":
        from agentforge.runtime.backends.embedded import EmbeddedBackend

        # loading takes seconds: keep the event loop responsive meanwhile
        return await asyncio.to_thread(EmbeddedBackend.load, parsed.model or None, int8=parsed.int8, **kw)
    if parsed.kind == "openai":
        from agentforge.runtime.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(parsed.model, parsed.base_url, **kw)
    if parsed.kind == "litellm":
        from agentforge.runtime.backends.litellm_backend import LiteLLMBackend

        return LiteLLMBackend(parsed.model, **kw)
    assert parsed.kind == "vllm", parsed
    from agentforge.runtime.backends.vllm_backend import VLLMBackend

    return await VLLMBackend.start(parsed.model, **kw)
