"""Per-entry verdict agreement between our BFCL v3 scoring and the official pipeline.

    python bench/bfcl_official_agreement.py [--categories all] [--limit N] [--seed 0]
        [--modes fc prompt] [--decoder official [lenient]] [--run-dir DIR] [--venv PATH] [--json PATH] [-v]

Both sides judge the same model outputs:
* ours     - our harness's decoder (`episodes.decode_fc` / `decode_prompt`: the
  official decoding; `--decoder lenient`: the runtime's tolerant parsers, which
  the harness used before issue 13) then `score.score_entry`, in this process;
* official - bfcl-eval 2025.6.16 in its own venv, on its own copy of the data:
  its evaluation runners (`ast_file_runner`, `relevance_file_runner`,
  `multi_turn_runner`, calling `ast_checker` / `multi_turn_checker`).

Single-turn outputs are RAW MODEL TEXT, decoded by each side: on the official
side the Qwen handlers (`Qwen/Qwen3-8B` prompting, `Qwen/Qwen3-8B-FC`; hermes
`<tool_call>` blocks) parse the response as inference would store it
(`_parse_query_response_prompting`) and the runners call their own
`decode_ast`. Multi-turn outputs are decoded call lists, replayed: a replay
handler's `decode_execute` turns each step's calls into source with the
official `convert_to_function_call` (what the Qwen FC handler does). The
official checker keeps multi-turn backend instances in module globals keyed by
entry id, so each batch holds an entry at most once and the globals are
cleared between batches.

Outputs: by default generated from the ground truth, several per entry
(correct answer, wrong value, missing required parameter, extra parameter,
wrong type, int for float, other accepted values, string case/punctuation
variants, reordered/dropped/duplicated parallel calls, wrong function name,
empty output, bad format, decode error), each rendered as text in each mode,
plus format variants of the correct answer (bench/bfcl_raw_texts.py: prose
around the list, fences, spacing, nesting, positional arguments, arithmetic,
Java/JavaScript literals in Python style; FC: missing newlines, one malformed
call among valid ones, arguments as a string, ...). Multi-turn: the
ground-truth calls in one step or one call per step, steps dropped or
perturbed, extra and unknown calls, an empty turn, calls where the model should
decline, too few turns, no output. With --run-dir: the candidates of a harness
run (DIR/journal.jsonl): their raw text where the journal keeps it
(single-turn), else their decoded output.

The official venv: --venv, else /tmp/bfcl-venv if it has bfcl_eval, else
<agentforge cache>/bfcl/official-venv, created on first use with
`python -m venv` + `pip install bfcl-eval==2025.6.16` (its pinned
dependencies: a few minutes, ~1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import bfcl_raw_texts as raw_texts
from bfcl_variants import generated_cases, single_turn_variants  # noqa: F401  (generated_cases: bfcl_score_speed.py)
from agentforge.harnesses.bfcl import data
from agentforge.harnesses.bfcl.checker import language_of
from agentforge.harnesses.bfcl.episodes import decode_fc, decode_fc_lenient, decode_prompt, decode_prompt_lenient
from agentforge.harnesses.bfcl.data import BFCL_VERSION, expand_categories, load_answers, load_entries
from agentforge.harnesses.bfcl.prompts import prepare_functions, to_tools
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.harnesses.bfcl.score_cache import Scorer
from agentforge.harnesses.journal import Journal
from agentforge.runtime.messages import Completion
from agentforge.runtime.parsing import parse_hermes

OFFICIAL_MODEL = "Qwen/Qwen3-8B-FC"  # an OSS FC model: no "." -> "_" in names, like ours
OFFICIAL_MODEL_DIR = OFFICIAL_MODEL.replace("/", "_")  # the official runner's form of the name

# ------------------------------------------------------------------ the official side

# The official side's stand-in for a model handler (shared with bfcl_score_speed.py):
# the outputs are already decoded; `convert_to_function_call` is the official helper.
REPLAY_HANDLER = r'''
DECODE_ERROR = "__decode_error__"


class ReplayHandler:
    """Stands in for a model handler: the outputs are already decoded."""

    def decode_ast(self, result, language="Python"):
        if isinstance(result, dict) and DECODE_ERROR in result:
            raise Exception(result[DECODE_ERROR])
        return result

    def decode_execute(self, result):
        if isinstance(result, dict) and DECODE_ERROR in result:
            raise Exception(result[DECODE_ERROR])
        return convert_to_function_call([{call["name"]: call["arguments"]} for call in result])
'''

WORKER = r'''
import json, sys, tempfile, time, traceback
from pathlib import Path
from types import SimpleNamespace

from bfcl_eval.model_handler.local_inference.qwen import QwenHandler
from bfcl_eval.model_handler.local_inference.qwen_fc import QwenFCHandler

from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH
from bfcl_eval.eval_checker import eval_runner
from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
from bfcl_eval.model_handler.utils import convert_to_function_call
from bfcl_eval.utils import find_file_with_suffix, is_java, is_js, is_multi_turn, is_relevance_or_irrelevance, load_file

MODEL_DIR = sys.argv[3]
''' + REPLAY_HANDLER + r'''

# The official handlers of the two modes, used as they are (no model is loaded, so no __init__):
# a raw response goes through the handler's own response parsing (what inference stores), then
# its own decode_ast inside the official runners.
HANDLERS = {"prompt": object.__new__(QwenHandler), "fc": object.__new__(QwenFCHandler)}


def stored_result(mode, text):
    response = SimpleNamespace(choices=[SimpleNamespace(text=text)],
                               usage=SimpleNamespace(prompt_tokens=0, completion_tokens=0))
    return HANDLERS[mode]._parse_query_response_prompting(response)["model_responses"]


def clear_instances():
    g = vars(multi_turn_utils)
    for name in [k for k in g if k.endswith("_instance")]:
        del g[name]


class Renamed:
    """The official FC handler, then our harness's name map (FC tools are exposed as
    `a_b` for `a.b`, which OpenAI-style tool names require; the calls map back)."""

    def __init__(self, names):
        self.names = names

    def decode_ast(self, result, language="Python"):
        decoded = HANDLERS["fc"].decode_ast(result, language)
        return [{self.names.get(k, k): v for k, v in call.items()} for call in decoded]


def run_batch(category, mode, rows, prompts, answers, score_dir):
    if mode == "replay":
        handler = ReplayHandler()
        results = [{"id": r["id"], "result": r["official_output"]} for r in rows]
    else:
        handler = Renamed(rows[0]["names"]) if rows[0].get("names") else HANDLERS[mode]
        results = [{"id": r["id"], "result": stored_result(mode, r["text"])} for r in rows]
    prompt = [json.loads(json.dumps(prompts[r["id"]])) for r in rows]
    language = "JavaScript" if is_js(category) else "Java" if is_java(category) else "Python"  # as evaluate_task
    if is_relevance_or_irrelevance(category):
        eval_runner.relevance_file_runner(handler, results, prompt, MODEL_DIR, category, score_dir)
    else:
        answer = [answers[r["id"]] for r in rows]
        if is_multi_turn(category):
            eval_runner.multi_turn_runner(handler, results, prompt, answer, MODEL_DIR, category, score_dir)
        else:
            eval_runner.ast_file_runner(handler, results, prompt, answer, language, category, MODEL_DIR, score_dir)
    clear_instances()
    lines = load_file(score_dir / MODEL_DIR / f"BFCL_v3_{category}_score.json")
    failed = {}
    for line in lines[1:]:
        error = line.get("error")
        kind = line.get("error_type") or (error.get("error_type") if isinstance(error, dict) else None)
        failed.setdefault(line["id"], kind)
    return failed


def main():
    cases_path, out_path = sys.argv[1], sys.argv[2]
    batches = {}
    for line in open(cases_path):
        row = json.loads(line)
        alone = row["key"] if row.get("names") else -1  # a row with its own name map: a batch of its own
        batches.setdefault((row["category"], row["mode"], row["batch"], alone), []).append(row)
    prompts, answers = {}, {}
    score_dir = Path(tempfile.mkdtemp(prefix="bfcl-official-score-"))
    crashes = []
    started = time.perf_counter()
    with open(out_path, "w") as out:
        for (category, mode, batch, _), rows in sorted(batches.items()):
            if category not in prompts:
                prompts[category] = {e["id"]: e for e in load_file(find_file_with_suffix(PROMPT_PATH, category))}
                try:
                    answers[category] = {a["id"]: a for a in load_file(find_file_with_suffix(POSSIBLE_ANSWER_PATH, category))}
                except FileNotFoundError:
                    answers[category] = {}
            try:
                failed = run_batch(category, mode, rows, prompts[category], answers[category], score_dir)
                crash = None
            except Exception as e:  # the official runner crashed on this batch
                clear_instances()
                failed, crash = {}, f"{type(e).__name__}: {e}"
                if not crashes:
                    traceback.print_exc()
                crashes.append(crash)
            for r in rows:
                verdict = {"key": r["key"], "valid": r["id"] not in failed, "error_type": failed.get(r["id"])}
                if crash:
                    verdict.update(valid=None, error_type="official_crash: " + crash)
                out.write(json.dumps(verdict) + "\n")
    print(json.dumps({"seconds": time.perf_counter() - started}))


main()
'''


def find_official_python(venv: str | None) -> Path:
    """Python of a venv that has the official package, creating one if needed."""
    candidates = [Path(venv)] if venv else [Path("/tmp/bfcl-venv"), data.WHEEL.root().parent / "official-venv"]
    for root in candidates:
        python = root / "bin" / "python"
        if python.exists() and subprocess.run([python, "-c", "import bfcl_eval"], capture_output=True).returncode == 0:
            return python
    root = candidates[-1]
    print(f"creating the official checker's venv at {root} (pip install bfcl-eval=={BFCL_VERSION}; a few minutes)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run([root / "bin" / "python", "-m", "pip", "install", "-q", f"bfcl-eval=={BFCL_VERSION}"], check=True)
    return root / "bin" / "python"


def run_official(python: Path, cases: list[dict]) -> tuple[dict[str, dict], float]:
    """Official verdicts by case key, and the official runner's own seconds."""
    with tempfile.TemporaryDirectory(prefix="bfcl-agreement-") as tmp:
        worker, cases_path, out_path = Path(tmp, "worker.py"), Path(tmp, "cases.jsonl"), Path(tmp, "verdicts.jsonl")
        worker.write_text(WORKER)
        with open(cases_path, "w") as f:
            for case in cases:
                f.write(json.dumps(case) + "\n")
        env = dict(os.environ, BFCL_PROJECT_ROOT=tmp)  # the package writes result/ and score/ dirs there
        proc = subprocess.run([python, worker, cases_path, out_path, OFFICIAL_MODEL_DIR], env=env, capture_output=True, text=True, cwd=tmp)
        if proc.stderr.strip():
            print(proc.stderr[-3000:], file=sys.stderr)
        if proc.returncode != 0:
            raise RuntimeError(f"official worker failed:\n{proc.stderr[-4000:]}")
        seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
        return {v["key"]: v for v in map(json.loads, open(out_path))}, seconds


def official_output(category: str, output, decode_error: str | None):
    """Our (output, decode_error) as the replay handler's raw result."""
    if decode_error is not None:
        if data.is_multi_turn(category):
            return f"Error during inference: {decode_error}"  # what official handlers store
        return {"__decode_error__": decode_error}
    if output is None and data.is_multi_turn(category):
        return "Error during inference: no output"
    return output


def raw_text_cases(categories: list[str], limit: int | None, seed: int, modes: list[str]) -> list[dict]:
    """Raw model texts for every single-turn entry, in each mode: every generated
    output rendered as the model would write it, plus format variants of the
    correct answer (a call, for the (ir)relevance categories)."""
    cases = []
    for category in categories:
        if data.is_multi_turn(category):
            continue
        entries = load_entries(category)[:limit]
        answers = load_answers(category)
        language = language_of(category)
        for index, entry in enumerate(entries):
            rng = random.Random(f"{seed}-raw-{entry['id']}")
            answer = answers.get(entry["id"])
            variants = single_turn_variants(category, entry, answer, rng)
            base = next(output for label, output, _ in variants if label in ("correct", "call"))
            for mode in modes:
                if mode == "prompt":
                    texts = [(label, raw_texts.prompt_text(entry, output, language) if error is None else "[" + error + "(")
                             for label, output, error in variants]
                    texts += raw_texts.prompt_variants(entry, base, language, rng)
                else:
                    texts = [(label, raw_texts.fc_text(output) if error is None else "<tool_call>\n" + error + "\n</tool_call>")
                             for label, output, error in variants]
                    texts += raw_texts.fc_variants(base, rng)
                for batch, (label, text) in enumerate(texts):
                    cases.append({"category": category, "id": entry["id"], "index": index, "batch": batch,
                                  "label": f"{mode}/{label}", "mode": mode, "text": text})
    return cases


def decode_ours(case: dict, decoder: str) -> tuple[object, str | None]:
    """Our harness's decoding of a raw case: (official-format output, decode error)."""
    category, text = case["category"], case["text"]
    if decoder == "lenient":  # the runtime's tolerant parsers (the harness before issue 13)
        if case["mode"] == "fc":
            parsed = parse_hermes(text)
            decoded = decode_fc_lenient(Completion(text=text, tool_calls=parsed.tool_calls,
                                                   parse_errors=[e.message for e in parsed.errors]), case.get("names", {}))
        else:
            decoded = decode_prompt_lenient(text)
    elif case["mode"] == "fc":
        decoded = decode_fc(Completion(text=text), case.get("names", {}))
    else:
        # The official relevance runner decodes every (ir)relevance output as Python.
        language = "Python" if "relevance" in category else language_of(category)
        decoded = decode_prompt(text, language)
    return decoded.official(), decoded.error


def journal_cases(run_dir: Path, categories: list[str]) -> list[dict]:
    """A harness run's candidates: its raw texts where the journal holds them (single-turn,
    since issue 13), decoded by each side; else its decoded outputs, replayed."""
    cases = []
    wanted = set(categories)
    mode = json.loads((run_dir / "config.json").read_text()).get("mode", "fc")
    positions = {c: {} for c in categories}
    entries = {c: load_entries(c) for c in categories}
    for category in categories:
        for index, entry in enumerate(entries[category]):
            positions[category].setdefault(entry["id"], index)
    # The journal's own reader: the last record per candidate; error records hold no model output.
    for row in Journal(run_dir / "journal.jsonl").load().values():
        if row.category not in wanted or row.status == "error":
            continue
        entry_id, _, index = row.task_id.partition("@")  # "<id>@<index>": a repeated id in the data
        case = {"category": row.category, "id": entry_id,
                "index": int(index) if index else positions[row.category][entry_id],
                "batch": row.sample, "label": f"sample {row.sample}"}
        if isinstance(row.detail.get("raw_text"), str):
            case.update(mode=mode, text=row.detail["raw_text"])
            if mode == "fc":
                entry = entries[row.category][case["index"]]
                case["names"] = to_tools(prepare_functions(entry.get("function", []), row.category))[1]
        else:
            case.update(output=row.output, decode_error=row.decode_error)
        cases.append(case)
    return cases


# ------------------------------------------------------------------ ours + comparison

def score_ours(cases: list[dict], decoder: str = "official") -> float:
    """Fill each case's `ours` verdict (score_entry on full entries), and check that
    the Scorer (cached scoring index) gives the same; returns the seconds spent in score_entry.
    Raw-text cases are decoded first by our harness's decoder."""
    by_category = defaultdict(list)
    for case in cases:
        by_category[case["category"]].append(case)
        if "text" in case:
            case["output"], case["decode_error"] = decode_ours(case, decoder)
    seconds = 0.0
    scorer = Scorer(model_name=OFFICIAL_MODEL_DIR)
    for category, rows in by_category.items():
        entries = load_entries(category)
        answers = load_answers(category)
        started = time.perf_counter()
        for case in rows:
            # A replayed output reaches the official side through JSON; so it does ours (tuples
            # become lists). A raw text is decoded on both sides in process.
            output = case["output"] if "text" in case else json.loads(json.dumps(case["output"]))
            v = score_entry(category, entries[case["index"]], answers.get(case["id"]), output,
                            case["decode_error"], model_name=OFFICIAL_MODEL_DIR)
            case["ours"] = {"valid": v.valid, "error_type": v.error_type or None}
        seconds += time.perf_counter() - started
        for case in rows:
            output = case["output"] if "text" in case else json.loads(json.dumps(case["output"]))
            v = scorer.score(category, case["id"], output, case["decode_error"])
            case["scorer_same"] = (v.valid, v.error_type or None) == (case["ours"]["valid"], case["ours"]["error_type"])
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--categories", nargs="+", default=["all"])
    ap.add_argument("--limit", type=int, default=None, help="entries per category")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", type=Path, default=None, help="judge a harness run's outputs (DIR/journal.jsonl)")
    ap.add_argument("--venv", default=None, help="venv with bfcl-eval installed (created if missing)")
    ap.add_argument("--json", type=Path, default=None, help="write the counts and per-case comparison here")
    ap.add_argument("--modes", nargs="+", default=["fc", "prompt"], choices=["fc", "prompt"],
                    help="single-turn raw texts in these modes")
    ap.add_argument("--decoder", nargs="+", default=["official"], choices=["official", "lenient"],
                    help="our harness's decoder(s) to compare (lenient: the runtime's tolerant parsers, "
                         "which the harness used before issue 13)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every disagreement")
    args = ap.parse_args()

    categories = expand_categories(args.categories)
    if args.run_dir:
        cases = journal_cases(args.run_dir, categories)
    else:
        cases = raw_text_cases(categories, args.limit, args.seed, args.modes)
        cases += generated_cases([c for c in categories if data.is_multi_turn(c)], args.limit, args.seed)
    for k, case in enumerate(cases):
        case["key"] = k
        if "text" not in case:
            case["mode"] = "replay"
            case["official_output"] = official_output(case["category"], case["output"], case["decode_error"])
    print(f"{len(cases)} outputs over {len({(c['category'], c['index']) for c in cases})} entries", file=sys.stderr)

    python = find_official_python(args.venv)
    official, official_seconds = run_official(python, [
        {k: c[k] for k in ("key", "category", "id", "batch", "mode", "official_output", "text", "names") if k in c}
        for c in cases])
    summary = {}
    for decoder in args.decoder:
        ours_seconds = score_ours(cases, decoder)
        summary[decoder] = report(cases, official, categories, decoder, args.verbose)
        print(f"scoring time: ours {ours_seconds:.2f} s, official runner {official_seconds:.2f} s "
              "(not the speed benchmark; see bfcl_score_speed.py)")
        if args.json:
            summary[decoder]["cases"] = [{k: c.get(k) for k in ("category", "id", "mode", "label", "text", "ours", "official")}
                                         for c in cases]
    if args.json:
        args.json.write_text(json.dumps(summary))


def report(cases: list[dict], official: dict, categories: list[str], decoder: str, verbose: bool) -> dict:
    """Print the agreement table for one of our decoders; returns the counts."""
    table = defaultdict(Counter)
    disagreements = []
    for case in cases:
        theirs = official[case["key"]]
        case["official"] = {"valid": theirs["valid"], "error_type": theirs["error_type"]}
        row = table[(case["category"], case["mode"])]
        row["outputs"] += 1
        row["official_valid"] += bool(theirs["valid"])
        if theirs["valid"] is None:
            row["official_crash"] += 1
        if theirs["valid"] == case["ours"]["valid"]:
            row["agree"] += 1
            if theirs["valid"] is False and theirs["error_type"] == case["ours"]["error_type"]:
                row["same_error_type"] += 1
        else:
            disagreements.append(case)

    print(f"\nour decoder: {decoder}; fc/prompt: raw texts decoded by each side; replay: our decoded outputs replayed")
    print(f"{'category':<26}{'mode':<8}{'outputs':>8}{'official valid':>15}{'agree':>8}{'agreement':>11}{'same error type*':>18}")
    total = Counter()
    for category, mode in [(c, m) for c in categories for m in ("fc", "prompt", "replay")]:
        row = table[(category, mode)]
        if not row["outputs"]:
            continue
        total.update(row)
        failed = row["outputs"] - row["official_valid"]
        print(f"{category:<26}{mode:<8}{row['outputs']:>8}{row['official_valid']:>15}{row['agree']:>8}"
              f"{100 * row['agree'] / row['outputs']:>10.2f}%{row['same_error_type']:>10}/{failed}")
    for mode in ("fc", "prompt", "replay"):
        rows = [r for (c, m), r in table.items() if m == mode and r["outputs"]]
        if rows:
            n, agree = sum(r["outputs"] for r in rows), sum(r["agree"] for r in rows)
            print(f"{'total ' + mode:<34}{n:>8}{'':>15}{agree:>8}{100 * agree / max(1, n):>10.2f}%")
    print(f"{'total':<34}{total['outputs']:>8}{total['official_valid']:>15}{total['agree']:>8}"
          f"{100 * total['agree'] / max(1, total['outputs']):>10.2f}%{total['same_error_type']:>10}/{total['outputs'] - total['official_valid']}")
    print("* among outputs both sides fail, how many get the same error_type")
    if total["official_crash"]:
        print(f"official checker crashed on {total['official_crash']} outputs")
    scorer_same = sum(c["scorer_same"] for c in cases)
    print(f"our two paths (score_entry on full entries / Scorer on the cached index) agree on {scorer_same}/{len(cases)}")
    labels = Counter((c["category"], c["label"]) for c in disagreements)
    if disagreements:
        print(f"\n{len(disagreements)} disagreements:")
        for (category, label), n in labels.most_common(None if verbose else 40):
            print(f"  {category} / {label}: {n}")
        for case in disagreements[: None if verbose else 20]:
            print(f"  {case['id']} [{case['label']}] {case.get('text', '')[:160]!r} ours={case['ours']} official={case['official']}")
    by_mode = {m: {"outputs": sum(r["outputs"] for (c, mm), r in table.items() if mm == m),
                   "disagree": sum(r["outputs"] - r["agree"] for (c, mm), r in table.items() if mm == m)}
               for m in ("fc", "prompt", "replay")}
    return {"outputs": total["outputs"], "disagree": len(disagreements), "crashes": total["official_crash"],
            "scorer_same": scorer_same, "by_mode": by_mode}


if __name__ == "__main__":
    main()
