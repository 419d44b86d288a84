"""Time to score all 4,441 BFCL v3 entries from a results file: ours vs the official checker.

    python bench/bfcl_score_speed.py [--results JOURNAL.jsonl] [--repeats 5] [--seed 0] [--venv PATH]

The results file is a harness journal (lines with task_id, category, sample,
output, decode_error). Without --results, one is generated: one output per
entry, drawn from bench/bfcl_official_agreement.py's generated outputs (the
correct one for --correct-share of the entries, 0.5 by default, else a random
perturbation), so every failure path is exercised.

Timed, each side in a fresh process, as process CPU time (the machine is
shared; wall time is printed too); imports excluded, loading included:
* ours     - `score_cache.Scorer.score_journal`: read the results file, score
  every output against our scoring index (per category: the docs the checker
  reads, the answers, and for multi-turn the answer's run, `TruthRun`; built
  from the official files on first use and kept as a pickle in the cache),
  then per-category accuracies and the summary formula. The first repeat
  starts without the index (cold: it is built and saved); the later ones load it;
* official - per category, what `bfcl evaluate` does once it has a handler:
  load the prompt, possible-answer and result files (official `load_file`,
  sorted by id), then the official runner function (`ast_file_runner` /
  `relevance_file_runner` / `multi_turn_runner`, which write their score
  files), with the replay handler of the agreement bench. Reported twice: as
  shipped, and with the score-file writing stubbed out (checking only).
The verdicts of both sides are compared (the official ones read from its
score files); ratios per repeat, medians of the warm repeats at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
from collections import Counter
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bfcl_official_agreement import (  # noqa: E402
    OFFICIAL_MODEL_DIR,
    REPLAY_HANDLER,
    find_official_python,
    generated_cases,
)

from agentforge.harnesses.bfcl.data import CATEGORIES  # noqa: E402

OURS = r'''
import json, sys, time
from collections import defaultdict
from agentforge.harnesses.bfcl import data
from agentforge.harnesses.bfcl.score import overall
from agentforge.harnesses.bfcl.score_cache import Scorer

def run(path, model_name):
    verdicts, passed, counts = [], defaultdict(int), defaultdict(int)
    for row, verdict in Scorer(model_name=model_name).score_journal(path):
        verdicts.append((row["task_id"], verdict.valid))
        passed[row["category"]] += verdict.valid
        counts[row["category"]] += 1
    return verdicts, overall({c: passed[c] / counts[c] for c in counts}, dict(counts))

data.bfcl_package_dir()  # the download/unzip is not scoring
for class_name in data._BACKEND_MODULES:
    data.backend_class(class_name)  # imports are not scoring either (both sides)
started, cpu = time.perf_counter(), time.process_time()
verdicts, summary = run(sys.argv[1], sys.argv[2])
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
json.dump({"seconds": seconds, "cpu": cpu, "verdicts": verdicts, "summary": summary}, open(sys.argv[3], "w"))
'''

OFFICIAL = r'''
import json, sys, tempfile, time
from pathlib import Path

from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH
from bfcl_eval.eval_checker import eval_runner
from bfcl_eval.model_handler.utils import convert_to_function_call
from bfcl_eval.utils import find_file_with_suffix, is_java, is_js, is_multi_turn, is_relevance_or_irrelevance, load_file

results_dir, model_dir, write_scores, out_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4]
''' + REPLAY_HANDLER + r'''

if not write_scores:
    eval_runner.write_list_of_dicts_to_file = lambda *args, **kwargs: None

import importlib
from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import CLASS_FILE_PATH_MAPPING
for module in CLASS_FILE_PATH_MAPPING.values():
    importlib.import_module(module)  # imports are not scoring (both sides)

score_dir = Path(tempfile.mkdtemp(prefix="bfcl-speed-score-"))
handler = ReplayHandler()
started, cpu = time.perf_counter(), time.process_time()
for result_file in sorted(results_dir.glob("*_result.json")):
    category = result_file.name[len("BFCL_v3_"):-len("_result.json")]
    language = "JavaScript" if is_js(category) else "Java" if is_java(category) else "Python"
    model_result = load_file(result_file, sort_by_id=True)
    prompt = load_file(find_file_with_suffix(PROMPT_PATH, category), sort_by_id=True)
    if is_relevance_or_irrelevance(category):
        eval_runner.relevance_file_runner(handler, model_result, prompt, model_dir, category, score_dir)
        continue
    answer = load_file(find_file_with_suffix(POSSIBLE_ANSWER_PATH, category), sort_by_id=True)
    if is_multi_turn(category):
        eval_runner.multi_turn_runner(handler, model_result, prompt, answer, model_dir, category, score_dir)
    else:
        eval_runner.ast_file_runner(handler, model_result, prompt, answer, language, category, model_dir, score_dir)
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
failed = []
if write_scores:
    for score_file in (score_dir / model_dir).glob("*_score.json"):
        ids = [line["id"] for line in load_file(score_file)[1:]]
        # multi_turn_runner lists a non-list result twice (inference error, then force-terminated)
        failed += sorted(set(ids)) if "multi_turn" in score_file.name else ids
json.dump({"seconds": seconds, "cpu": cpu, "failed": failed}, open(out_path, "w"))
'''


def make_results(path: Path, seed: int, correct_share: float = 0.5) -> None:
    """One output per entry: the correct one with probability `correct_share`, else a random perturbation."""
    rng = random.Random(seed)
    by_entry: dict[tuple[str, str], list[dict]] = {}
    for case in generated_cases(list(CATEGORIES), None, seed):
        by_entry.setdefault((case["category"], case["index"], case["id"]), []).append(case)
    with open(path, "w") as f:
        for (category, _, task_id), cases in by_entry.items():
            case = cases[0] if rng.random() < correct_share else rng.choice(cases[1:])
            f.write(json.dumps({"task_id": task_id, "category": category, "sample": 0,
                                "output": case["output"], "decode_error": case["decode_error"]}) + "\n")


def official_results_dir(results: Path, dest: Path) -> None:
    """The journal rewritten as the official per-category result files."""
    from bfcl_official_agreement import official_output

    files: dict[str, list[dict]] = {}
    with open(results) as f:
        for line in f:
            row = json.loads(line)
            files.setdefault(row["category"], []).append(
                {"id": row["task_id"], "result": official_output(row["category"], row["output"], row["decode_error"])})
    for category, rows in files.items():
        with open(dest / f"BFCL_v3_{category}_result.json", "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


def run_script(python: Path | str, source: str, args: list[str], env: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bfcl-speed-") as tmp:
        script, out = Path(tmp, "run.py"), Path(tmp, "out.json")
        script.write_text(source)
        proc = subprocess.run([str(python), str(script), *args, str(out)], env=env, capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-4000:])
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=5, help="the first one is cold (builds our index)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--correct-share", type=float, default=0.5,
                    help="generated results: share of entries given their correct output (the rest a perturbation)")
    ap.add_argument("--venv", default=None)
    args = ap.parse_args()

    official_python = find_official_python(args.venv)
    with tempfile.TemporaryDirectory(prefix="bfcl-speed-") as tmp:
        results = args.results or Path(tmp, "journal.jsonl")
        if args.results is None:
            make_results(results, args.seed, args.correct_share)
        n = sum(1 for _ in open(results))
        official_dir = Path(tmp, "official_results")
        official_dir.mkdir()
        official_results_dir(results, official_dir)
        official_env = dict(os.environ, BFCL_PROJECT_ROOT=tmp)

        # The first run starts without our scoring index (it builds and saves it): the cold figure.
        from agentforge.harnesses.bfcl.data import bfcl_package_dir
        shutil.rmtree(bfcl_package_dir().parent / "scoring", ignore_errors=True)
        rows = []
        for repeat in range(args.repeats):
            ours = run_script(sys.executable, OURS, [str(results), OFFICIAL_MODEL_DIR])
            shipped = run_script(official_python, OFFICIAL, [str(official_dir), OFFICIAL_MODEL_DIR, "1"], official_env)
            checking = run_script(official_python, OFFICIAL, [str(official_dir), OFFICIAL_MODEL_DIR, "0"], official_env)
            ours_failed = Counter(k for k, ok in ours["verdicts"] if not ok)
            same = ours_failed == Counter(shipped["failed"])
            rows.append((ours["cpu"], shipped["cpu"], checking["cpu"], ours["seconds"], shipped["seconds"], checking["seconds"]))
            print(f"repeat {repeat}: {n} outputs; CPU s: ours {ours['cpu']:.2f}, official {shipped['cpu']:.2f} "
                  f"(without score files {checking['cpu']:.2f}) -> {shipped['cpu'] / ours['cpu']:.1f}x "
                  f"({checking['cpu'] / ours['cpu']:.1f}x); wall s: {ours['seconds']:.2f} / {shipped['seconds']:.2f} / "
                  f"{checking['seconds']:.2f}; verdicts identical: {same} ({sum(ours_failed.values())} failing)")
            if not same:
                diff = sorted(set((ours_failed - Counter(shipped["failed"])) + (Counter(shipped["failed"]) - ours_failed)))
                print(f"  differing entries: {diff[:20]}")
        cold, warm = rows[0], rows[1:] or rows
        med = [statistics.median(col) for col in zip(*warm)]
        print(f"\nfirst run (ours builds its scoring index): CPU ours {cold[0]:.2f} s, official {cold[1]:.2f} s "
              f"({cold[1] / cold[0]:.1f}x); wall {cold[3]:.2f} / {cold[4]:.2f} s")
        print(f"median of the {len(warm)} later runs, CPU: ours {med[0]:.2f} s, official {med[1]:.2f} s as shipped "
              f"({med[1] / med[0]:.1f}x), {med[2]:.2f} s without score files ({med[2] / med[0]:.1f}x); "
              f"wall: {med[3]:.2f} / {med[4]:.2f} / {med[5]:.2f} s")
        print(f"summary (ours): {json.dumps({k: round(v, 4) for k, v in ours['summary'].items()})}")


if __name__ == "__main__":
    main()
