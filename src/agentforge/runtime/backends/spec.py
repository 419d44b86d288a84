"""The model-spec grammar, parsed in this one place.

    embedded                      the bundled CPU model
    embedded:int8                 the same, weight-only int8 matmuls
    embedded:<path>[+int8]        a local Llama-architecture model directory
    embedded:int8:<path>          the same, int8
    openai:<model>[@<base_url>]   an OpenAI-compatible server (no URL: api.openai.com)
    http(s)://host:port/v1        the one model such a server lists
    litellm:<provider/model>      any provider LiteLLM supports
    vllm:<model>                  a vLLM server launched for <model>
    router:<file.toml|json>       a router over specialist models
    <spec>@best-of-N:SELECTOR     N candidates of <spec>, one answer picked by SELECTOR
    <spec>*K                      K replicas of <spec> behind one name (`agent serve`)

`parse_spec` turns a string into a `ModelSpec`; the runtime builds the plain
kinds (`make_backend`), the layers above build the wrappers: best-of-N in
agentforge.selectors, routers in agentforge.routing, both through
`agentforge.models.make_model`. Which selector names exist is the selectors'
business: here a selector is only a well-formed name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

PLAIN_KINDS = ("embedded", "openai", "http", "litellm", "vllm")  # built by the runtime
WRAPPER_KINDS = ("best-of-n", "router")  # built above it (agentforge.models)
BEST_OF_N = re.compile(r"^(?P<base>.+)@best-of-(?P<n>\d+):(?P<selector>[a-z0-9_]+)$")
REPLICATED = re.compile(r"^(?P<spec>.+)\*(?P<count>[0-9]+)$")
MAX_N = 64
MAX_REPLICAS = 256


class SpecError(ValueError):
    """A spec that cannot work; the message says how to write it."""


@dataclass(frozen=True)
class ModelSpec:
    text: str  # the spec as written
    kind: str  # one of PLAIN_KINDS or WRAPPER_KINDS
    model: str = ""  # embedded: a model directory ("" = the bundled one); openai/litellm/vllm: the model; router: the file
    base_url: str | None = None  # openai: the server; http: the URL itself
    int8: bool = False  # embedded only
    base: "ModelSpec | None" = None  # best-of-n: the model sampled
    n: int = 0  # best-of-n: candidates
    selector: str = ""  # best-of-n: what picks the answer

    @property
    def plain(self) -> bool:
        return self.kind in PLAIN_KINDS

    @property
    def core(self) -> "ModelSpec":
        """The model at the heart of a best-of-N spec (the spec itself for any other)."""
        return self.base.core if self.base is not None else self


def _shown(text: str) -> str:
    return text if len(text) <= 100 else text[:100] + "..."


def parse_best_of_n(text: str, max_n: int = MAX_N) -> tuple[str, int, str] | None:
    """(base spec, N, selector) for `<spec>@best-of-N:SELECTOR`, None for any other spec.

    Raises SpecError for an N out of 1..max_n.
    """
    match = BEST_OF_N.match(text)
    if match is None:
        return None
    digits = match["n"].lstrip("0") or "0"
    # int() of thousands of digits is slow, and refused past 4,300: no N that long is in range anyway
    n = int(digits) if len(digits) <= len(str(max_n)) else max_n + 1
    if not 1 <= n <= max_n:
        given = digits if len(digits) <= 20 else f"{digits[:20]}... ({len(digits)} digits)"
        raise SpecError(f"best-of-{given} in {_shown(text)!r}: N must be between 1 and {max_n}")
    return match["base"], n, match["selector"]


def split_replicas(text: str) -> tuple[str, int]:
    """(spec, K) for `<spec>*K`; (text, 1) without a `*K`."""
    match = REPLICATED.match(text)
    if match is None:
        return text, 1
    count = int(match["count"])
    if not 1 <= count <= MAX_REPLICAS:
        raise SpecError(f"{text!r}: the replica count must be between 1 and {MAX_REPLICAS}")
    return match["spec"], count


def parse_spec(text: str, max_n: int = MAX_N) -> ModelSpec:
    """The ModelSpec a spec string names; SpecError (a ValueError) listing the accepted forms if none."""
    if (best := parse_best_of_n(text, max_n)) is not None:  # first: the base spec has a kind of its own
        base, n, selector = best
        return ModelSpec(text, "best-of-n", base=parse_spec(base, max_n), n=n, selector=selector)
    kind, _, rest = text.partition(":")
    if kind in ("http", "https"):
        return ModelSpec(text, "http", base_url=text)
    if kind == "embedded":
        model, int8 = rest, False
        if model == "int8" or model.endswith("+int8"):
            model, int8 = model.removesuffix("int8").removesuffix("+"), True
        elif model.startswith("int8:"):  # embedded:int8:<path>, the order users try first
            model, int8 = model.removeprefix("int8:"), True
        return ModelSpec(text, "embedded", model=model, int8=int8)
    if kind == "openai" and rest:
        # split at "@http" so that "@" in a model name or in URL credentials survives
        cut = rest.find("@http")
        model, base_url = (rest[:cut], rest[cut + 1:]) if cut > 0 else (rest, "")
        return ModelSpec(text, "openai", model=model, base_url=base_url or None)
    if kind in ("litellm", "vllm", "router") and rest:
        return ModelSpec(text, kind, model=rest)
    raise SpecError(f"unknown backend spec {text!r}; {SPEC_FORMS}")
