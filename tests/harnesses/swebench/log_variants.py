"""Generated SWE-bench evaluation logs, for checking our parsers and grading against the official ones.

Each case is a dataset row (the fields swebench's `make_test_spec` reads) and
the raw log an evaluation could leave: the eval script's `set -x` noise, the
test-output markers, the runner's lines in the shapes the Python parsers read
(pytest `-rA` summary and `-v` progress lines, colour codes, parametrized ids
with spaces, absolute paths and ` - `; Django's verbose runner with docstrings,
interleaved output and FAIL:/ERROR: headers; sympy's verbose lines and failure
headers), and the ways a log goes wrong (no markers, a bad marker, results only
outside the markers, a non-zero test exit code with no failure reported).
FAIL_TO_PASS and PASS_TO_PASS draw on the tests the log reports, tests it does
not, and ids cut at their first space as the dataset holds them.
"""

from __future__ import annotations

import json
import random

PYTEST_FAMILY = ("parse_log_pytest", "parse_log_pytest_options", "parse_log_pytest_v2", "parse_log_matplotlib",
                 "parse_log_seaborn", "parse_log_astroid", "parse_log_flask", "parse_log_marshmallow",
                 "parse_log_pvlib", "parse_log_pyvista", "parse_log_sqlfluff", "parse_log_xarray",
                 "parse_log_pydicom", "parse_log_requests", "parse_log_pylint", "parse_log_astropy",
                 "parse_log_scikit", "parse_log_sphinx")
PARSERS = PYTEST_FAMILY + ("parse_log_django", "parse_log_sympy")
STATUSES = ("PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL")
ESC = "\x1b"
PARAMS = ("", "", "", "[a]", "[float64-sum]", "[0.1 km]", "[x - y]", "[/tmp/pytest-of-root/pytest-0/t0/mod.py]",
          "[//host/share]", "[*.py]", "[MouseButton.LEFT]", "[png-w/ line]", "[1m]", "[unit0]", "[a b c]")
WORDS = ("add", "mul", "parse", "render", "align", "roundtrip", "grammar", "init", "isel", "merge", "load")


def _pytest_name(rng: random.Random) -> str:
    module = rng.choice(("tests/test_core.py", "pkg/tests/test_units.py", "lib/x/tests/test_axes.py"))
    klass = rng.choice(("", "", "TestVariable::", "TestPlot::"))
    return f"{module}::{klass}test_{rng.choice(WORDS)}_{rng.randrange(50)}{rng.choice(PARAMS)}"


def _pytest_line(rng: random.Random, name: str, status: str) -> str:
    shape = rng.random()
    if shape < 0.55:  # the -rA short summary
        line = f"{status} {name}"
        if status in ("FAILED", "ERROR", "XFAIL") and rng.random() < 0.7:
            line += f" - {rng.choice(('AssertionError: assert 1 == 2', 'reason - with a dash', 'KeyError'))}"
    elif shape < 0.8:  # -v progress
        line = f"{name} {status}" + rng.choice(("", f" [ {rng.randrange(100):2d}%]", "                [100%]"))
    else:  # colour, as astropy / scikit-learn / sphinx print it
        colour = {"PASSED": "32", "FAILED": "31", "ERROR": "31"}.get(status, "33")
        line = f"{ESC}[{colour}m{status}{ESC}[0m {name}" if rng.random() < 0.6 else \
            f"{name} {ESC}[{colour}m{status}{ESC}[0m"
    return line + ("\r" if rng.random() < 0.05 else "")


def _pytest_body(rng: random.Random) -> tuple[list[str], list[str]]:
    names = list(dict.fromkeys(_pytest_name(rng) for _ in range(rng.randrange(3, 9))))
    lines = [f"collected {len(names)} items", ""]
    for name in names:
        for _ in range(rng.choice((1, 1, 2))):  # a later line about the same test wins
            lines.append(_pytest_line(rng, name, rng.choice(STATUSES)))
        if rng.random() < 0.15:
            lines.append(rng.choice(("E       AssertionError: assert 1 == 2", "FAILURES", "XPASS " + name,
                                     "SKIPPED [2] tests/test_core.py:12: needs scipy",
                                     "____________ ERROR at setup of test_x ____________",
                                     "ERROR: file or directory not found: tests/nothing.py",
                                     "PASSEDtests/glued.py::t", "  PASSED indented.py::t")))
    lines.append(f"========= {rng.randrange(5)} failed, {rng.randrange(9)} passed in 0.{rng.randrange(99)}s =========")
    return lines, names


def _django_body(rng: random.Random) -> tuple[list[str], list[str]]:
    lines, names = ["Testing against Django installed in '/testbed/django'", "Creating test database..."], []
    for _ in range(rng.randrange(3, 9)):
        method = f"test_{rng.choice(WORDS)}_{rng.randrange(50)}"
        name = f"{method} ({rng.choice(('admin_views', 'forms_tests', 'migrations'))}.tests.{rng.choice(('ViewTests', 'FormTests'))})"
        ending = rng.choice((" ... ok", " ... ok", " ... FAIL", " ... ERROR", " ... skipped 'needs db'",
                             " ... expected failure", " ... OK", "interrupted", "docstring"))
        if ending == "docstring":  # the docstring's first line becomes the key
            doc = f"A {method.replace('_', ' ')} works."
            lines += [name, f"{doc} ... {rng.choice(('ok', 'FAIL', 'ERROR'))}"]
            names.append(doc)
            continue
        names.append(name)
        if ending == "interrupted":  # output between "..." and its "ok"
            lines += [f"{name} ... System check identified no issues (0 silenced).", "ok"]
        else:
            lines.append(f"{name}{ending}")
        if ending in (" ... FAIL", " ... ERROR") and rng.random() < 0.6:
            lines += ["", "=" * 70, f"{ending.split()[-1]}: {name}", "-" * 70, "Traceback (most recent call last):"]
    lines += ["-" * 70, f"Ran {len(names)} tests in 0.{rng.randrange(99)}s", rng.choice(("OK", "FAILED (failures=1)"))]
    return lines, names


def _sympy_body(rng: random.Random) -> tuple[list[str], list[str]]:
    lines, names = ["============================= test process starts ==============================",
                    "sympy/core/tests/test_basic.py[4] "], []
    for _ in range(rng.randrange(3, 9)):
        name = f"test_{rng.choice(WORDS)}_{rng.randrange(50)}"
        names.append(name)
        lines.append(f"{name} {rng.choice(('ok', 'ok', 'F', 'E', 'f', 's', 'X'))}")
        if rng.random() < 0.2:
            lines.append(f"________________ sympy/core/tests/test_basic.py:{name} ________________")
    lines.append(f"= tests finished: {rng.randrange(9)} passed, {rng.randrange(3)} failed, in 0.{rng.randrange(99)} seconds =")
    return lines, names


def _assemble(rng: random.Random, body: list[str]) -> str:
    pre = ["+ source /opt/miniconda3/bin/activate", "+ git apply -v - <<'EOF_114329324912'",
           "Applied patch tests/test_core.py cleanly."]
    start, end = "+ : '>>>>> Start Test Output'", "+ : '>>>>> End Test Output'"
    exit_code = rng.choice((0, 0, 0, 1, 2))
    post = [f">>>>> Test Exit Code: {exit_code}", "+ git checkout abc123 tests/test_core.py"]
    shape = rng.random()
    if shape < 0.72:
        lines = pre + [start] + body + [end] + post
    elif shape < 0.78:  # the test patch never applied: no markers
        lines = pre + body + post
    elif shape < 0.84:  # results printed outside the markers (stdout/stderr order)
        lines = pre + [start, "+ pytest -rA", end] + body + post
    elif shape < 0.9:
        bad = rng.choice((">>>>> Patch Apply Failed", ">>>>> Tests Timed Out", ">>>>> Tests Errored",
                          ">>>>> Reset Failed"))
        lines = pre + [start] + body + [end, bad] + post
    elif shape < 0.95:  # nothing ran inside the markers
        lines = pre + [start, "+ pytest -rA", "no tests ran", end] + post
    else:  # a second start marker inside the output
        cut = rng.randrange(len(body) + 1)
        lines = pre + [start] + body[:cut] + [start] + body[cut:] + [end] + post
    return "\n".join(lines) + "\n"


def _pick(rng: random.Random, names: list[str], k: int) -> list[str]:
    pool = names + [f"tests/test_core.py::test_absent_{rng.randrange(9)}", "test_never_run (x.tests.T)"]
    pool += [n.split(" ")[0] for n in names if " " in n]  # ids cut at a space, as the dataset holds them
    return list(dict.fromkeys(rng.sample(pool, min(k, len(pool)))))


def make_cases(count: int, seed: int = 0) -> list[dict]:
    """`count` cases spread over every Python parser: [{"row": {...}, "log": "..."}]."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        parser = PARSERS[index % len(PARSERS)]
        body, names = (_django_body if parser == "parse_log_django" else
                       _sympy_body if parser == "parse_log_sympy" else _pytest_body)(rng)
        f2p = _pick(rng, names, rng.randrange(1, 4))
        p2p = [n for n in _pick(rng, names, rng.randrange(0, 5)) if n not in f2p]
        row = {"instance_id": f"gen__case-{index}", "repo": "gen/case", "version": "1.0",
               "image": f"amd64.gen__case-{index}:latest", "base_commit": "abc123",
               "eval_script": "#!/bin/bash\nset -uxo pipefail\n: '>>>>> Start Test Output'\npytest -rA\n"
                              ": '>>>>> End Test Output'\n",
               "log_parser": parser, "eval_type": "fail_only" if rng.random() < 0.15 else "pass_and_fail",
               "FAIL_TO_PASS": f2p, "PASS_TO_PASS": p2p}
        cases.append({"row": row, "log": _assemble(rng, body)})
    return cases


def _row_line(rng: random.Random, parser: str, name: str, outcome: str) -> list[str]:
    """One test of a real row reported with `outcome` (a status, or "missing"), as its runner prints it."""
    if outcome == "missing":
        return []
    if parser == "parse_log_django":
        ending = {"PASSED": "ok", "FAILED": "FAIL", "ERROR": "ERROR", "SKIPPED": "skipped 'no db'",
                  "XFAIL": "expected failure"}[outcome]
        return [f"{name} ... {ending}"]
    if parser == "parse_log_sympy":
        return [f"{name} {({'PASSED': 'ok', 'FAILED': 'F', 'ERROR': 'E', 'SKIPPED': 's', 'XFAIL': 'f'}[outcome])}"]
    if name.count("[") > name.count("]"):  # the dataset cut this id at a space; the runner prints it whole
        name += rng.choice((" km]", " -1-2]", " b)]"))
    return [_pytest_line(rng, name, outcome)]


def make_row_cases(rows: list[dict], seed: int = 0) -> list[dict]:
    """One case per real dataset row: a log reporting the row's own FAIL_TO_PASS / PASS_TO_PASS tests.

    About half the logs report every test passing (the gold patch's run); the
    rest fail, skip, error or omit a few of them.
    """
    rng = random.Random(seed)
    cases = []
    for row in rows:
        parser = row["log_parser"]
        names = [name for key in ("PASS_TO_PASS", "FAIL_TO_PASS")
                 for name in (json.loads(row[key]) if isinstance(row[key], str) else row[key])]
        clean = rng.random() < 0.5
        body = ["collected tests"]
        for name in names:
            outcome = "PASSED" if clean or rng.random() < 0.9 else rng.choice(STATUSES + ("missing",))
            body += _row_line(rng, parser, name, outcome)
        lines = _assemble(rng, body) if rng.random() < 0.3 else \
            "\n".join(["+ : '>>>>> Start Test Output'", *body, "+ : '>>>>> End Test Output'",
                       f">>>>> Test Exit Code: {0 if clean else 1}"]) + "\n"
        cases.append({"row": row, "log": lines})
    return cases
