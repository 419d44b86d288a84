"""The names served models answer to, and the per-model state /health reports (serving/served_models.py)."""

from __future__ import annotations

from agentforge.serving.served_models import model_cards, model_state, spec_aliases


def test_each_model_answers_to_the_specs_it_was_started_from():
    aliases = spec_aliases([("SmolLM2-135M-Instruct-int8", ["embedded:int8"]),
                            ("pooled", ["openai:m@http://a/v1", "openai:m@http://b/v1", "openai:m@http://a/v1"])])
    assert aliases == {"embedded:int8": "SmolLM2-135M-Instruct-int8",
                       "openai:m@http://a/v1": "pooled", "openai:m@http://b/v1": "pooled"}


def test_an_ambiguous_spec_is_no_alias():
    # one spec behind two served models, and a spec that is another model's name, would each be a guess
    assert spec_aliases([("a", ["embedded"]), ("b", ["embedded"])]) == {}
    assert spec_aliases([("a", ["b"]), ("b", ["embedded"])]) == {"embedded": "b"}


def test_models_list_the_aliases_with_what_they_stand_for():
    cards = model_cards({"m": object()}, {"embedded": "m"})
    assert [(c["id"], c.get("root")) for c in cards] == [("m", None), ("embedded", "m")]


class Pool:  # the shape of UpstreamPool.status(), which test_pool.py checks against the real pool
    def __init__(self, healthy: int, total: int):
        self.healthy, self.total = healthy, total

    def status(self):
        return {"healthy": self.healthy, "replicas": [{"name": str(i)} for i in range(self.total)]}


def test_model_state_counts_a_pools_healthy_replicas():
    assert model_state(object())["status"] == "ok"
    assert [model_state(Pool(h, 3))["status"] for h in (3, 1, 0)] == ["ok", "degraded", "down"]
    assert model_state(Pool(1, 3))["healthy"] == 1
