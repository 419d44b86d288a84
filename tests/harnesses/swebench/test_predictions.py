"""Predictions files in the formats the official run_evaluation reads."""

import json
import os

import pytest

from agentforge.harnesses.swebench import predictions as predictions_module
from agentforge.harnesses.swebench.predictions import Prediction, load_predictions, write_predictions

PATCH = (
    "diff --git a/django/core/validators.py b/django/core/validators.py\n"
    "--- a/django/core/validators.py\n+++ b/django/core/validators.py\n"
    "@@ -1,3 +1,3 @@\n-    regex = r'^[\\w.@+-]+$'\n+    regex = r'^[\\w.@+-]+\\Z'\n"
)
PREDS = [
    Prediction(instance_id="django__django-11099", model_name_or_path="agentforge/qwen3-8b", model_patch=PATCH),
    Prediction(instance_id="sympy__sympy-11618", model_name_or_path="agentforge/qwen3-8b", model_patch=None),
    Prediction(instance_id="astropy__astropy-12907", model_name_or_path="agentforge/qwen3-8b", model_patch=""),
]


def test_jsonl_round_trip_in_the_official_shape(tmp_path):
    path = write_predictions(tmp_path / "preds.jsonl", PREDS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first == {"instance_id": "django__django-11099", "model_name_or_path": "agentforge/qwen3-8b",
                     "model_patch": PATCH}
    assert json.loads(lines[1])["model_patch"] is None
    assert load_predictions(path) == PREDS
    assert [p.is_empty for p in load_predictions(path)] == [False, True, True]


def test_json_list_and_instance_id_keyed_object(tmp_path):
    path = write_predictions(tmp_path / "preds.json", PREDS)
    assert isinstance(json.loads(path.read_text()), list)
    assert load_predictions(path) == PREDS
    # SWE-agent writes {instance_id: prediction}; the values are the predictions
    keyed = tmp_path / "swe_agent.json"
    keyed.write_text(json.dumps({p.instance_id: p.model_dump() for p in PREDS}))
    assert load_predictions(keyed) == PREDS


def test_extra_keys_are_kept_and_written_back(tmp_path):
    row = {"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": PATCH, "cost": 0.12}
    (tmp_path / "in.jsonl").write_text(json.dumps(row) + "\n")
    [pred] = load_predictions(tmp_path / "in.jsonl")
    assert pred.model_extra == {"cost": 0.12}
    write_predictions(tmp_path / "out.jsonl", [pred])
    assert json.loads((tmp_path / "out.jsonl").read_text()) == row


def test_a_later_duplicate_wins_in_the_first_ones_place(tmp_path):
    rows = [
        {"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": "old"},
        {"instance_id": "a__b-2", "model_name_or_path": "m", "model_patch": "x"},
        {"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": "new"},
    ]
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")  # trailing blank line is fine
    loaded = load_predictions(path)
    assert [(p.instance_id, p.model_patch) for p in loaded] == [("a__b-1", "new"), ("a__b-2", "x")]


@pytest.mark.parametrize("line3, message", [
    ('{"instance_id": "a__b-3", "model_name_or_path": "m", "model_patch": ', r"preds\.jsonl:3: not valid JSON"),
    ('{"model_name_or_path": "m", "model_patch": "x"}', r"preds\.jsonl:3: invalid prediction \(instance_id: Field required"),
    ('{"instance_id": "a__b-3", "model_name_or_path": "m"}', r"preds\.jsonl:3: .*model_patch: Field required"),
    ('{"instance_id": 7, "model_name_or_path": "m", "model_patch": "x"}', r"preds\.jsonl:3: .*instance_id"),
    ('["a__b-3", "m", "x"]', r"preds\.jsonl:3: a prediction must be a JSON object, got list"),
])
def test_a_bad_row_is_reported_with_its_line(tmp_path, line3, message):
    good = [json.dumps({"instance_id": f"a__b-{i}", "model_name_or_path": "m", "model_patch": "x"}) for i in (1, 2)]
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(good + [line3]) + "\n")
    with pytest.raises(ValueError, match=message):
        load_predictions(path)


def test_json_errors_name_the_entry(tmp_path):
    path = tmp_path / "preds.json"
    path.write_text(json.dumps([{"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": "x"},
                                {"instance_id": "a__b-2", "model_patch": "x"}]))
    with pytest.raises(ValueError, match=r"item 1: .*model_name_or_path"):
        load_predictions(path)
    path.write_text('"just a string"')
    with pytest.raises(ValueError, match="expected a list of predictions"):
        load_predictions(path)


def test_only_json_and_jsonl_are_accepted(tmp_path):
    (tmp_path / "preds.txt").write_text("")
    with pytest.raises(ValueError, match=r"must end in \.json or \.jsonl"):
        load_predictions(tmp_path / "preds.txt")
    with pytest.raises(ValueError, match=r"must end in \.json or \.jsonl"):
        write_predictions(tmp_path / "preds.csv", PREDS)


def test_write_refuses_duplicates_and_accepts_dicts(tmp_path):
    with pytest.raises(ValueError, match="duplicate prediction for django__django-11099"):
        write_predictions(tmp_path / "p.jsonl", [PREDS[0], PREDS[0].model_dump()])
    path = write_predictions(tmp_path / "p.jsonl", [p.model_dump() for p in PREDS])
    assert load_predictions(path) == PREDS
    with pytest.raises(ValueError, match=r"prediction 0: .*instance_id"):
        write_predictions(tmp_path / "q.jsonl", [{"model_name_or_path": "m", "model_patch": "x"}])


def test_write_is_atomic(tmp_path, monkeypatch):
    path = write_predictions(tmp_path / "preds.jsonl", PREDS[:1])
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(predictions_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        write_predictions(path, PREDS)
    assert path.read_bytes() == before  # the old file is whole
    assert os.listdir(tmp_path) == ["preds.jsonl"]  # and no temporary file is left behind
