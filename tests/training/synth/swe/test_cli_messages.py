"""`agent train synth swe` prints error messages as text: an install hint's
`[docker]` is not rich markup. The synthesis is replaced by a function that
fails as a missing docker SDK does (the real pipeline would fetch packages first)."""

from __future__ import annotations

from typer.testing import CliRunner

from agentforge.cli import app

HINT = "the docker sandbox needs the docker SDK: pip install 'agentforge[docker]'"


def test_synth_errors_keep_their_install_hints(monkeypatch, tmp_path):
    import agentforge.training.synth.swe.build as build
    from agentforge.runtime.sandbox import SandboxError

    async def fails(*args, **kwargs):
        raise SandboxError(HINT)

    monkeypatch.setattr(build, "synthesize_async", fails)
    result = CliRunner().invoke(app, ["train", "synth", "swe", "-p", "six==1.16.0", "--out", str(tmp_path),
                                      "--no-progress"], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and f"error: {HINT}" in result.output
