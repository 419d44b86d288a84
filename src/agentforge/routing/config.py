"""Router files: specialists + a policy, in TOML or JSON; `load_router` builds the Router.

    name = "router"                          # the model name clients ask for

    [[specialists]]
    name = "caller"
    model = "embedded:int8"                  # a backend spec, a served model's name, or M@best-of-N:SEL
    description = "always calls a tool (grammar-constrained)"
    tool_choice = "required"
    constrained = true
    temperature = 0

    [[specialists]]
    name = "chatter"
    model = "embedded:int8"
    tool_choice = "auto"

    [policy]                                 # one of:
    kind = "learned"                         #   learned: file = "learned.json" (from `agent route learn`)
    file = "learned.json"                    #   rule:    default + rules = [{when, use}, ...] (see rules.py)
                                             #   llm:     model + default (+ max_tokens, system_prompt)
                                             #   random:  seed;  fixed: specialist

Paths in a router file are relative to the file. Specialists that name the
same model share one backend (one embedded model in memory, however many
prompt/sampling variants of it are declared).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Awaitable, Callable, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentforge.runtime.backends.base import Backend
from agentforge.routing.learned import LearnedPolicy, load_model
from agentforge.routing.meta_agent import MetaAgentPolicy
from agentforge.routing.policy import FixedPolicy, Policy, RandomPolicy, RoutingError
from agentforge.routing.router import Router
from agentforge.routing.rules import RulePolicy
from agentforge.routing.specialist import Specialist, SpecialistSpec

MakeBackend = Callable[[str], Awaitable[Backend]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FixedSpec(_Strict):
    kind: Literal["fixed"]
    specialist: str


class RandomSpec(_Strict):
    kind: Literal["random"]
    seed: int | None = None


class RuleItem(_Strict):
    when: str
    use: str


class RuleSpec(_Strict):
    kind: Literal["rule"]
    default: str
    rules: list[RuleItem] = Field(default_factory=list)


class LearnedSpec(_Strict):
    kind: Literal["learned"]
    file: str


class LlmSpec(_Strict):
    kind: Literal["llm"]
    model: str  # the meta-agent: a backend spec or a served model's name
    default: str  # used when the meta-agent fails
    max_tokens: int = Field(48, ge=8)
    system_prompt: str | None = None


PolicySpec = Annotated[Union[FixedSpec, RandomSpec, RuleSpec, LearnedSpec, LlmSpec], Field(discriminator="kind")]


class RouterSpec(_Strict):
    name: str = Field("router", min_length=1)
    specialists: list[SpecialistSpec] = Field(min_length=1)
    policy: PolicySpec

    @model_validator(mode="after")
    def _unique(self) -> "RouterSpec":
        names = [s.name for s in self.specialists]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ValueError(f"two specialists are named {dup!r}")
        return self

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specialists]


def _read(path: Path) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RoutingError(f"{path}: no such router file") from None
    if path.suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise RoutingError(f"{path}: TOML router files need Python 3.11+; write it as JSON") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise RoutingError(f"{path}: not valid TOML ({e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RoutingError(f"{path}: not valid JSON ({e}); router files are .toml or .json") from None


def read_router_spec(source: str | Path | Mapping[str, Any]) -> tuple[RouterSpec, Path]:
    """The parsed router definition and the directory its relative paths start from."""
    if isinstance(source, Mapping):
        raw, base, where = dict(source), Path.cwd(), "router spec"
    else:
        path = Path(source)
        raw, base, where = _read(path), path.parent, str(path)
    if isinstance(raw, dict) and raw.get("kind") == "learned":
        raise RoutingError(f"{where} is a learned policy, not a router file: reference it from a router file "
                           "([policy] kind = \"learned\", file = \"...\")")
    try:
        return RouterSpec.model_validate(raw), base
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in e.errors())
        raise RoutingError(f"{where}: {problems}") from None


async def _default_make(spec: str) -> Backend:
    from agentforge.runtime.backends import make_backend

    return await make_backend(spec)


class ModelResolver:
    """Resolves model references to backends: given ones first, then made once per distinct spec."""

    def __init__(self, given: Mapping[str, Backend] | None, make: MakeBackend | None):
        self.given, self.make = dict(given or {}), make or _default_make
        self.made: dict[str, Backend] = {}

    async def get(self, ref: str, who: str) -> Backend:
        if ref in self.given:
            return self.given[ref]
        if ref in self.made:
            return self.made[ref]
        from agentforge.selectors.best_of_n import BestOfN, VirtualModelError, parse_virtual_model

        try:
            parsed = parse_virtual_model(ref)
        except VirtualModelError as e:
            raise RoutingError(f"{who}: {e}") from None
        if parsed is not None:
            base, n, selector = parsed
            backend: Backend = BestOfN(await self.get(base, who), n, selector, name=ref)
        else:
            try:
                backend = await self.make(ref)
            except ValueError as e:  # make_backend's "unknown backend spec", with the accepted forms
                served = f"not one of the served models ({', '.join(self.given)}), and " if self.given else ""
                raise RoutingError(f"{who}: model {ref!r} is {served}{e}") from None
        self.made[ref] = backend
        return backend

    async def close(self) -> None:
        for backend in self.made.values():
            await backend.aclose()


async def build_policy(spec: RouterSpec, base_dir: Path, models: ModelResolver) -> Policy:
    """The policy a router file declares; the llm policy's meta-agent is resolved
    through `models` (the caller closes what it made)."""
    p, names = spec.policy, spec.names
    if isinstance(p, FixedSpec):
        return FixedPolicy(names, p.specialist)
    if isinstance(p, RandomSpec):
        return RandomPolicy(names, p.seed)
    if isinstance(p, RuleSpec):
        return RulePolicy(names, [(r.when, r.use) for r in p.rules], p.default)
    if isinstance(p, LearnedSpec):
        path = Path(p.file) if Path(p.file).is_absolute() else base_dir / p.file
        return LearnedPolicy(load_model(path), names)
    if isinstance(p, LlmSpec):
        meta = await models.get(p.model, "llm policy")
        return MetaAgentPolicy(meta, {s.name: s.description for s in spec.specialists}, p.default,
                               p.max_tokens, p.system_prompt)
    raise AssertionError(f"unhandled policy {p!r}")


async def load_router(source: str | Path | Mapping[str, Any], backends: Mapping[str, Backend] | None = None,
                      make: MakeBackend | None = None) -> Router:
    """Build the Router a router file (TOML/JSON path, or its parsed dict) declares.

    `backends`: models the caller already has, by the names a router file may
    use (e.g. the served model's name and its spec string); any other model
    reference is made with `make` (default: make_backend), once per distinct
    reference, and closed with the router. Raises RoutingError with the fix.
    """
    spec, base_dir = read_router_spec(source)
    models = ModelResolver(backends, make)
    try:
        specialists = {s.name: Specialist(s, await models.get(s.model, f"specialist {s.name!r}"))
                       for s in spec.specialists}
        policy = await build_policy(spec, base_dir, models)
        return Router(spec.name, specialists, policy, owned=list(models.made.values()))
    except BaseException:
        await models.close()  # a half-built router must not leave a loaded model behind
        raise
