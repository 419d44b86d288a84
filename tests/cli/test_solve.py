"""`agent solve` for a person at a terminal or a script: limits that fit the
model, progress on any output, a summary when stopped by a signal, and a patch
that cannot drive the terminal it is printed on.

The model is scripted (tests/fakes/scripted_backend.py via
tests/runtime/coding/scripting.py; in a process of its own via
tests/fakes/scripted_cli.py): no real model can be made to run a known
sequence of commands. Commands run in real bwrap sandboxes; signals go to a
real process, and the terminal is a real pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.runtime.coding import SUBMIT_SENTINEL
from tests.runtime.coding.scripting import call, make_repo, scripted

ROOT = Path(__file__).resolve().parents[2]
FIX = call("bash", command="sed -i 's/a - b/a + b/' calc.py")
SUBMIT = call("bash", command=f"echo {SUBMIT_SENTINEL}")
# A patch that hides a line from whoever reads it on a terminal: a lone \r lets the
# comment overwrite the line it ends, and ESC [1A ESC [2K goes up and erases a line.
HIDE = call("bash", command="printf 'EVIL = 1\\r# only a comment, nothing to see\\nx = 1 \\033[1A\\033[2K\\n' >> calc.py")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def invoke(monkeypatch, turns, *args: str):
    """`agent solve` in this process with a scripted model; returns (result, backend)."""
    import agentforge.runtime.backends as backends

    backend = scripted(turns)

    async def make_backend(spec, **kw):
        return backend

    monkeypatch.setattr(backends, "make_backend", make_backend)
    result = CliRunner().invoke(app, ["solve", *args], env={"COLUMNS": "200"})
    return result, backend


# ---------------------------------------------------------------- limits that fit the model


def test_the_embedded_model_gets_short_runs_and_flags_still_win(repo, tmp_path, monkeypatch):
    never_done = [call("bash", command="true")]
    base = [str(repo), "--issue", "x", "--format", "tools", "--sandbox", "bwrap"]
    result, backend = invoke(monkeypatch, never_done, *base, "--out", str(tmp_path / "a"))
    assert result.exit_code == 1, result.output  # the agent changed nothing
    assert len(backend.requests) == 30 and {s.max_tokens for _, s in backend.requests} == {512}
    assert "at most 30 turns of 512 tokens and a 7000-token conversation" in result.stderr
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["candidates"][0]["status"] == "step_limit"

    result, backend = invoke(monkeypatch, never_done, *base, "--out", str(tmp_path / "b"), "--max-steps", "3",
                             "--max-tokens", "100")
    assert len(backend.requests) == 3 and {s.max_tokens for _, s in backend.requests} == {100}


def test_defaults_follow_the_model_spec():
    from agentforge.cli.solve import SERVED, SMALL_LOCAL, defaults_for

    assert defaults_for("embedded") is SMALL_LOCAL and defaults_for("embedded:int8") is SMALL_LOCAL
    assert defaults_for("embedded@best-of-4:vote") is SMALL_LOCAL
    assert defaults_for("openai:qwen3-8b@http://127.0.0.1:8000/v1") is SERVED
    assert defaults_for("openai:qwen3-8b@best-of-4:vote") is SERVED


# ---------------------------------------------------------------- progress on any output


def test_progress_is_a_line_per_step_when_stderr_is_not_a_terminal(repo, tmp_path, monkeypatch):
    result, _ = invoke(monkeypatch, [call("bash", command="cat calc.py"), FIX, SUBMIT], str(repo), "--issue", "x",
                       "--format", "tools", "--sandbox", "bwrap", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "solve: #0 running" in lines
    assert "solve: #0 step 1 · 5 tokens · cat calc.py" in lines
    assert "solve: #0 step 2 · 10 tokens · sed -i 's/a - b/a + b/' calc.py" in lines
    assert "solve: #0 submitted · 3 steps · 15 tokens" in lines
    assert "+    return a + b" in result.stdout


# ---------------------------------------------------------------- a patch with escape sequences


def test_terminal_safe_makes_control_characters_visible():
    from agentforge.cli.terminal import terminal_safe

    assert terminal_safe("+x = 1\n\tok\r\n") == ("+x = 1\n\tok\r\n", 0)  # newline, tab, CRLF: as they are
    assert terminal_safe("+a\x1b[1A\x1b[2K\n") == ("+a␛[1A␛[2K\n", 2)
    assert terminal_safe("+evil\r+good\n") == ("+evil␍+good\n", 1)
    assert terminal_safe("\x1b]0;title\x07") == ("␛]0;title␇", 2)  # OSC, ended by BEL
    assert terminal_safe("a\x9b2Jb\x7f") == ("a<U+009B>2Jb␡", 2)  # C1 CSI, DEL
    assert terminal_safe("x = 1 \u202e// hidden\u202c") == ("x = 1 <U+202E>// hidden<U+202C>", 2)  # bidi


def test_a_piped_patch_is_exact_and_the_reviewer_is_warned(repo, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result, _ = invoke(monkeypatch, [HIDE, SUBMIT], str(repo), "--issue", "x", "--format", "tools",
                       "--sandbox", "bwrap", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = (out / "patch.diff").read_bytes().decode()
    assert "+EVIL = 1\r# only a comment" in raw and "\x1b[1A\x1b[2K" in raw
    assert result.stdout == raw  # a pipe or a file gets the patch exactly
    assert "warning: the patch holds 3 terminal control characters" in result.stderr
    assert f"cat -v {out / 'patch.diff'}" in result.stderr


def _run_cli(script: list, args: list[str], tmp_path: Path, **popen) -> subprocess.Popen:
    """`agent ARGS` in a process of its own, its model replaying `script`."""
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "tests.fakes.scripted_cli", str(path), *args], cwd=ROOT,
                            env=env, **popen)


def test_a_patch_on_a_terminal_cannot_hide_lines(repo, tmp_path):
    out = tmp_path / "out"
    master, slave = pty.openpty()
    proc = _run_cli([HIDE, SUBMIT], ["solve", str(repo), "--issue", "x", "--format", "tools", "--sandbox",
                                     "bwrap", "--out", str(out)], tmp_path, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # until the child closes the terminal (EIO on Linux)
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        stderr = proc.communicate(timeout=60)[1].decode()
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr

    text = shown.decode()
    assert b"\x1b" not in shown  # not one escape sequence reached the terminal
    assert "+EVIL = 1␍# only a comment, nothing to see" in text and "+x = 1 ␛[1A␛[2K" in text
    assert "the patch holds 3 terminal control characters, shown above as ␛, ␍, <U+…>" in stderr
    raw = (out / "patch.diff").read_bytes().decode()  # the file is exact
    assert "+EVIL = 1\r# only a comment" in raw and "+x = 1 \x1b[1A\x1b[2K" in raw


# ---------------------------------------------------------------- stopped by a signal


class _Lines:
    """A stream's lines, read as they come."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _steps_saved(path: Path) -> int:
    try:
        return len(json.loads(path.read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_with_a_summary_and_the_work_so_far(repo, tmp_path, sig, code):
    out = tmp_path / "out"
    slow = call("bash", command="sleep 0.2")  # the agent goes on until stopped
    proc = _run_cli([FIX, slow], ["solve", str(repo), "--issue", "x", "--format", "tools", "--sandbox", "bwrap",
                                  "--out", str(out), "--max-steps", "100000"], tmp_path,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = _Lines(proc.stderr)
    try:
        _wait_for(lambda: _steps_saved(out / "trajectories" / "0.json") >= 3, 120, "three saved steps")
        # the progress was on stderr while the run went on, not only at its end
        _wait_for(lambda: "solve: #0 step 3 · 15 tokens · sleep 0.2" in stderr.lines, 30, "the step-3 line")
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr.thread.join(timeout=10)
    stdout = proc.stdout.read().decode()

    assert proc.returncode == code, stderr.text()
    assert stdout == ""  # no patch was chosen
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["chosen"] is None
    run = summary["candidates"][0]
    assert run["status"] == "interrupted" and run["steps"] >= 3 and run["tokens"] == 5 * run["steps"]
    assert _steps_saved(out / "trajectories" / "0.json") >= 3
    assert "+    return a + b" in (out / "patch.diff").read_text()  # the changes so far
    assert (out / "patches" / "0.diff").read_text() == (out / "patch.diff").read_text()

    text = stderr.text()
    name = signal.Signals(sig).name
    assert f"stopped by {name} after {run['steps']} steps ({run['tokens']} tokens generated); saved in {out}/" in text
    assert (f"#0 interrupted · {run['steps']} steps · {run['tokens']} tokens · trajectory trajectories/0.json · "
            "changes so far patches/0.diff (1 file)") in text
    assert "Traceback" not in text
