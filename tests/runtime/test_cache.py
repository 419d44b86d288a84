"""One cache root (runtime/cache.py): AGENTFORGE_CACHE, else the XDG cache dir, and every cache under it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentforge.runtime.cache import cache_dir, cache_root


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv("AGENTFORGE_CACHE", raising=False)
    monkeypatch.delenv("AGENTFORGE_ENV_CACHE", raising=False)


def test_agentforge_cache_names_the_root(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and cache_dir("bfcl", "x") == tmp_path / "c" / "bfcl" / "x"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AGENTFORGE_CACHE", "~/elsewhere")
    assert cache_root() == tmp_path / "elsewhere"


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG cache dir is Linux's convention")
def test_the_default_is_the_xdg_cache_dir(monkeypatch, tmp_path, no_override):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "agentforge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "agentforge"  # where the caches were before: nothing moves


def test_every_cache_lies_under_the_root(monkeypatch, tmp_path, no_override):
    from agentforge.cli.solve import default_out_dir
    from agentforge.harnesses.bfcl import data
    from agentforge.harnesses.swebench import environment
    from agentforge.harnesses.taubench import official_venv
    from agentforge.harnesses.taubench import package as tau_package
    from agentforge.runtime.backends import checkpoint
    from agentforge.training.synth.swe import build, sdist

    root = tmp_path / "root"
    monkeypatch.setenv("AGENTFORGE_CACHE", str(root))
    caches = {
        "model": checkpoint.cache_dir(),
        "bfcl": data.WHEEL.root(),
        "tau2 package": tau_package.WHEEL.root(),
        "tau2 venv": official_venv.venv_dir(),
        "swe envs": environment.cache_root(),
        "sdists": sdist.sdist_cache(),
        "synth trees": build.cache_root() / "swe-synth" / "trees",
        "solve runs": default_out_dir(),
    }
    for name, path in caches.items():
        assert Path(path).is_relative_to(root), f"{name}: {path} is not under {root}"
    assert environment.cache_root() == root / "swe-envs"


def test_the_old_swe_env_variable_still_wins_for_its_cache(monkeypatch, tmp_path):
    from agentforge.harnesses.swebench import environment

    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path / "root"))
    monkeypatch.setenv("AGENTFORGE_ENV_CACHE", str(tmp_path / "envs"))
    assert environment.cache_root() == tmp_path / "envs"
