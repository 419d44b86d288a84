"""The model-spec grammar (runtime/backends/spec.py) and who builds what: plain kinds in the
runtime (make_backend), the wrappers above it (agentforge.models.make_model)."""

from __future__ import annotations

import pytest

from agentforge.runtime.backends import make_backend
from agentforge.runtime.backends.spec import MAX_REPLICAS, SpecError, parse_spec, split_replicas


@pytest.mark.parametrize("text, kind, model, int8", [
    ("embedded", "embedded", "", False),
    ("embedded:int8", "embedded", "", True),
    ("embedded:/m/final", "embedded", "/m/final", False),
    ("embedded:/m/final+int8", "embedded", "/m/final", True),
    ("embedded:int8:/m/final", "embedded", "/m/final", True),
    ("litellm:anthropic/claude", "litellm", "anthropic/claude", False),
    ("vllm:/models/qwen", "vllm", "/models/qwen", False),
    ("router:r.toml", "router", "r.toml", False),
])
def test_each_plain_form(text, kind, model, int8):
    spec = parse_spec(text)
    assert (spec.kind, spec.model, spec.int8, spec.text) == (kind, model, int8, text)


def test_openai_splits_at_the_url_so_at_signs_in_names_and_credentials_survive():
    spec = parse_spec("openai:org/m@v2@http://user:p@ss@host:8000/v1")
    assert (spec.kind, spec.model, spec.base_url) == ("openai", "org/m@v2", "http://user:p@ss@host:8000/v1")
    assert parse_spec("openai:gpt-4o").base_url is None  # api.openai.com
    assert parse_spec("http://127.0.0.1:8000/v1").kind == "http"


def test_best_of_n_wraps_any_spec_and_nests():
    spec = parse_spec("openai:m@http://h:1/v1@best-of-4:vote")
    assert (spec.kind, spec.n, spec.selector, spec.plain) == ("best-of-n", 4, "vote", False)
    assert spec.base.kind == "openai" and spec.base.base_url == "http://h:1/v1"
    nested = parse_spec("embedded:int8@best-of-2:first@best-of-3:vote")
    assert nested.n == 3 and nested.base.n == 2 and nested.core.kind == "embedded" and nested.core.int8


@pytest.mark.parametrize("text, message", [
    ("embedded@best-of-0:vote", "N must be between 1 and 64"),
    ("embedded@best-of-65:vote", "N must be between 1 and 64"),
    ("embedded@best-of-" + "9" * 5000 + ":vote", r"\(5000 digits\)"),
    ("nonsense", "unknown backend spec 'nonsense'; accepted backend specs"),
    ("openai:", "unknown backend spec"),
    ("vllm:", "unknown backend spec"),
])
def test_a_bad_spec_says_how_to_write_one(text, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(text)


def test_replicas():
    assert split_replicas("vllm:/m*4") == ("vllm:/m", 4)
    assert split_replicas("embedded:int8") == ("embedded:int8", 1)
    with pytest.raises(SpecError, match=f"between 1 and {MAX_REPLICAS}"):
        split_replicas(f"vllm:/m*{MAX_REPLICAS + 1}")


async def test_the_runtime_builds_no_wrapper():
    with pytest.raises(SpecError, match="use agentforge.models.make_model"):
        await make_backend("embedded@best-of-2:vote")
    with pytest.raises(SpecError, match="router model"):
        await make_backend("router:r.toml")


async def test_make_model_checks_the_selector_before_loading_anything(monkeypatch):
    from agentforge.models import make_model
    from agentforge.runtime import backends

    async def must_not_load(spec, **kw):
        raise AssertionError("the base model was loaded for a spec that cannot work")

    monkeypatch.setattr(backends, "make_backend", must_not_load)
    with pytest.raises(ValueError, match="unknown selector 'magic'"):
        await make_model("embedded@best-of-3:magic")
