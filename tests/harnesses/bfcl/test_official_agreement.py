"""Our BFCL verdicts against the official bfcl-eval decoder and checker, run in
the official package's own venv (bench/bfcl_official_agreement.py finds it at
/tmp/bfcl-venv or <agentforge cache>/bfcl/official-venv, and creates the latter
with `pip install bfcl-eval==2025.6.16` on first use: a few minutes, once)."""

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import agentforge

REPO = Path(__file__).resolve().parents[3]
SRC = Path(agentforge.__file__).resolve().parents[1]  # the agentforge under test


@pytest.mark.slow
def test_official_decoder_and_checker_give_our_verdicts_on_generated_raw_outputs(tmp_path):
    """Four entries per category: single-turn raw texts in FC and prompt mode (a few
    hundred per category: every generated output rendered as text, plus format
    variants) go through the official handlers' own response parsing and decode_ast
    inside the official runners; multi-turn decoded outputs are replayed. The
    tolerant (non-official) decoder is run on the same texts to show the check bites."""
    out = tmp_path / "agreement.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bfcl_official_agreement.py"), "--categories", "all", "--limit", "4",
         "--seed", "13", "--decoder", "official", "lenient", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads(out.read_text())
    official = summary["official"]

    per_category = Counter((c["category"], c["mode"]) for c in official["cases"])
    single_turn = {cat for cat, mode in per_category if mode != "replay"}
    assert len(single_turn) == 13
    for category in single_turn:
        assert per_category[(category, "fc")] >= 100 and per_category[(category, "prompt")] >= 150, per_category
    assert {cat for cat, mode in per_category if mode == "replay"} == {
        "multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"}

    assert official["crashes"] == 0
    differing = [c for c in official["cases"] if c["ours"]["valid"] != c["official"]["valid"]]
    assert differing == [], differing[:10]
    assert official["disagree"] == 0 and official["scorer_same"] == official["outputs"]
    # The runtime's tolerant parsers (the harness before issue 13) disagree on both modes' texts.
    lenient = summary["lenient"]["by_mode"]
    assert lenient["fc"]["disagree"] > 0 and lenient["prompt"]["disagree"] > 0


def official_python() -> str:
    """The bench's lookup (and first-use creation) of the official venv."""
    spec = importlib.util.spec_from_file_location("bfcl_official_agreement", REPO / "bench" / "bfcl_official_agreement.py")
    sys.path.insert(0, str(REPO / "bench"))
    try:
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
    finally:
        sys.path.remove(str(REPO / "bench"))
    return str(bench.find_official_python(None))


@pytest.mark.slow
def test_official_decoders_and_ours_agree_on_random_raw_texts():
    """Random prompt-mode texts (odd values, wrappers, separators) in Python, Java and
    JavaScript, and random Hermes FC texts: our decoding must equal the official one,
    output for output (the official decoder evals arithmetic; the fuzz's arithmetic
    is constant, which we compute)."""
    module = SRC / "agentforge" / "harnesses" / "bfcl" / "official_decode.py"
    done = subprocess.run([official_python(), str(Path(__file__).with_name("official_decoder_fuzz.py")), str(module),
                           "13", "1500"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["compared"] == 1500 * 4
    assert result["differ"] == 0, result["examples"]
