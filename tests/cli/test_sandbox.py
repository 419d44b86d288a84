"""`agent sandbox ...` through the real CLI (bwrap is installed on our machines and in CI)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from agentforge.cli import app


def test_sandbox_run_shows_the_agent_observation_and_no_network(tmp_path):
    result = CliRunner().invoke(app, ["sandbox", "run", "--sandbox", "bwrap", "--workspace", str(tmp_path),
                                      "echo made > f.txt; getent hosts pypi.org || echo NO-DNS; exit 4"])
    assert result.exit_code == 0, result.output
    assert "<returncode>4</returncode>" in result.output and "NO-DNS" in result.output
    assert (tmp_path / "f.txt").read_text() == "made\n"


def test_sandbox_info_names_the_auto_choice():
    result = CliRunner().invoke(app, ["sandbox", "info"])
    assert result.exit_code == 0 and "--sandbox auto → bwrap" in result.output


def test_unknown_sandbox_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["sandbox", "run", "--sandbox", "jail", "true"])
    assert result.exit_code == 1 and "unknown sandbox 'jail'" in result.output


def test_sandbox_info_keeps_the_install_hint_of_a_missing_docker_sdk(monkeypatch):
    # the docker SDK not installed (import docker fails): its message names the extra, [docker]
    monkeypatch.setitem(sys.modules, "docker", None)
    result = CliRunner().invoke(app, ["sandbox", "info"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "unavailable: the docker sandbox needs the docker SDK: pip install 'agentforge[docker]'" in result.output
