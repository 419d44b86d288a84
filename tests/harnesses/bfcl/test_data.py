"""BFCL v3 data: obtaining the wheel, categories, and the real entries as the official runner prepares them."""

import subprocess
import zipfile

import pytest

from agentforge.harnesses import official_wheel
from agentforge.harnesses.bfcl import data


def test_every_category_loads_with_its_answers():
    total = 0
    for category in data.CATEGORIES:
        entries = data.load_entries(category, function_docs=False)
        answers = data.load_answers(category)
        total += len(entries)
        assert entries, category
        ids = [e["id"] for e in entries]
        assert all(data.category_of(i) == category for i in ids)
        if "relevance" in category:  # both rules need no answer
            assert answers == {}
        else:
            assert set(answers) == set(ids) and len(ids) == len(set(ids))
    assert total == 4441  # the v3 size


def test_groups_expand_in_leaderboard_order():
    assert data.expand_categories(["all"]) == list(data.CATEGORIES)
    assert data.expand_categories(["multi_turn", "simple"]) == ["simple"] + list(data.GROUPS["multi_turn"])
    assert data.expand_categories("live") == list(data.CATEGORIES[7:13])
    assert len(data.expand_categories(["non_live", "live", "multi_turn"])) == 17
    with pytest.raises(ValueError, match="unknown BFCL category"):
        data.expand_categories(["simpel"])


def test_multi_turn_entries_get_their_classes_docs_and_held_out_functions():
    entry = data.load_entries("multi_turn_miss_func")[0]
    assert entry["long_context"] is False
    names = [d["name"] for d in entry["function"]]
    every = [d["name"] for cls in entry["involved_classes"] for d in data.func_docs(cls)]
    ((turn, held),) = entry["missed_function"].items()
    held_names = [d["name"] for d in held]
    assert held_names and not set(held_names) & set(names)
    assert sorted(names + held_names) == sorted(every)
    assert data.is_holdout_turn(entry, int(turn)) and entry["question"][int(turn)] == []
    before = {d["name"] for d in data.functions_at_turn(entry, int(turn) - 1)}
    after = {d["name"] for d in data.functions_at_turn(entry, int(turn))}
    assert not set(held_names) & before and set(held_names) <= after
    assert data.load_entries("multi_turn_long_context")[0]["long_context"] is True


def test_entries_are_fresh_copies():
    first = data.load_entries("simple")
    first[0]["function"].clear()
    assert data.load_entries("simple")[0]["function"]


def _fake_wheel(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bfcl_eval/__init__.py", "")
        z.writestr("bfcl_eval/data/BFCL_v3_simple.json", '{"id": "simple_0"}\n')


def test_package_dir_unzips_a_local_wheel_once(tmp_path, monkeypatch):
    wheel = tmp_path / f"bfcl_eval-{data.BFCL_VERSION}-py3-none-any.whl"
    _fake_wheel(wheel)
    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTFORGE_BFCL_WHEEL", str(wheel))
    package = data.bfcl_package_dir()
    assert (package / "data" / "BFCL_v3_simple.json").exists()
    marker = package / "data" / "marker"
    marker.write_text("kept")
    wheel.unlink()  # a second call reuses the unzipped copy
    assert data.bfcl_package_dir() == package and marker.exists()
    assert not list((tmp_path / "cache" / "bfcl").glob(".download-*"))  # no staging left behind


def test_package_dir_says_what_to_do_without_an_index(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AGENTFORGE_BFCL_WHEEL", raising=False)
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: Could not find a version that satisfies the requirement")
    monkeypatch.setattr(official_wheel.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(RuntimeError, match="AGENTFORGE_BFCL_WHEEL"):
        data.bfcl_package_dir()
    assert not (tmp_path / "cache" / "bfcl" / f"bfcl_eval-{data.BFCL_VERSION}").exists()
