"""Grading against FAIL_TO_PASS / PASS_TO_PASS, on status maps and on whole eval logs."""

import json

import pytest

from agentforge.harnesses.swebench.grading import (
    APPLY_PATCH_FAIL,
    TESTS_TIMEOUT,
    grade,
    grade_log,
    test_names,
)
from agentforge.harnesses.swebench.log_parsers import LOG_PARSERS, TestStatus, get_parser
from tests.shared_data import shared_data

P, F, E, S, X = (TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED, TestStatus.XFAIL)


# --- grade() on status maps ------------------------------------------------------------


@pytest.mark.parametrize("status, f2p_ok", [(P, True), (X, True), (F, False), (E, False), (S, False), (None, False)])
def test_fail_to_pass_needs_passed_or_xfail(status, f2p_ok):
    sm = {} if status is None else {"t.py::test_fix": status}
    g = grade(sm, ["t.py::test_fix"], [])
    assert g.resolved is f2p_ok
    assert g.f2p_passed == (["t.py::test_fix"] if f2p_ok else [])
    assert g.f2p_failed == ([] if f2p_ok else ["t.py::test_fix"])


@pytest.mark.parametrize("status, p2p_ok", [(P, True), (X, True), (S, True), (F, False), (E, False), (None, False)])
def test_pass_to_pass_counts_a_skip_as_maintained(status, p2p_ok):
    sm = {"t.py::test_fix": P} | ({} if status is None else {"t.py::test_old": status})
    g = grade(sm, ["t.py::test_fix"], ["t.py::test_old"])
    assert g.resolved is p2p_ok
    assert g.status == ("resolved_full" if p2p_ok else "resolved_no")
    assert (g.p2p_passed, g.p2p_failed) == ((["t.py::test_old"], []) if p2p_ok else ([], ["t.py::test_old"]))


def test_statuses_may_be_plain_strings():
    g = grade({"a": "PASSED", "b": "XFAIL", "c": "SKIPPED"}, ["a", "b"], ["c"])
    assert g.resolved and g.f2p_passed == ["a", "b"] and g.p2p_passed == ["c"]


def test_partial_and_no_resolution():
    sm = {"f1": P, "f2": F, "p1": P, "p2": F}
    partial = grade(sm, ["f1", "f2"], ["p1"])
    assert (partial.status, partial.resolved) == ("resolved_partial", False)
    # a broken PASS_TO_PASS test turns partial into no
    assert grade(sm, ["f1", "f2"], ["p1", "p2"]).status == "resolved_no"
    # all FAIL_TO_PASS fixed but one regression: not resolved
    regression = grade(sm, ["f1"], ["p1", "p2"])
    assert (regression.status, regression.resolved) == ("resolved_no", False)
    # nothing fixed
    assert grade(sm, ["f2"], ["p1"]).status == "resolved_no"


def test_empty_lists_score_one():
    assert grade({}, [], []).status == "resolved_full"
    assert grade({"f": P}, ["f"], []).resolved
    assert grade({"p": P}, [], ["p"]).resolved
    assert not grade({"p": F}, [], ["p"]).resolved


def test_a_truncated_id_is_matched_by_prefix_when_the_candidates_agree():
    f2p = ["astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1"]
    # the full id stands in for the cut one
    assert grade({"astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1 km]": P}, f2p, []).resolved
    # PASSED and XFAIL agree; passing
    sm = {"astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1 km]": P,
          "astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1 m s]": X}
    assert grade(sm, f2p, []).resolved
    # a pass and a failure disagree: the case stays unresolved (failed)
    sm = {"astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1 km]": P,
          "astropy/units/tests/test_format.py::test_cds_grammar_fail[0.1 m s]": F}
    g = grade(sm, f2p, [])
    assert not g.resolved and g.f2p_failed == f2p
    # a well-formed id never falls back to a prefix
    assert not grade({"t.py::test_x[a]": P}, ["t.py::test_x"], []).resolved
    assert not grade({"t.py::test_x[a]": P}, ["t.py::test_x[a]]"], []).resolved


def test_truncated_pass_to_pass_with_skip_and_failure_siblings_follows_log_order():
    # Official behaviour (SWE-bench #663): SKIPPED and FAILED are both "not
    # passing", so they agree, and the first reported sibling decides.
    case = "tests/test_a.py::test_x[a"
    skip_first = {"tests/test_a.py::test_x[a b]": S, "tests/test_a.py::test_x[a c]": F}
    fail_first = {"tests/test_a.py::test_x[a c]": F, "tests/test_a.py::test_x[a b]": S}
    assert grade(skip_first, [], [case]).resolved
    assert not grade(fail_first, [], [case]).resolved


def test_fail_only_eval_type_fails_only_reported_failures():
    sm = {"f1": P, "f2": E, "p1": F}
    g = grade(sm, ["f1", "f2", "missing"], ["p1", "p2"], eval_type="fail_only")
    assert g.f2p_passed == ["f1", "f2", "missing"] and g.f2p_failed == []
    assert g.p2p_failed == ["p1"] and g.p2p_passed == ["p2"]
    assert not g.resolved
    with pytest.raises(ValueError, match="eval_type"):
        grade(sm, [], [], eval_type="pass_only")


def test_official_report_shape():
    g = grade({"f": P, "p": F}, ["f"], ["p"])
    report = g.official_report("django__django-11099", "diff --git a/x b/x\n")
    entry = report["django__django-11099"]
    assert entry["patch_exists"] and entry["patch_successfully_applied"] and not entry["resolved"]
    assert entry["tests_status"]["FAIL_TO_PASS"] == {"success": ["f"], "failure": []}
    assert entry["tests_status"]["PASS_TO_PASS"] == {"success": [], "failure": ["p"]}
    none = g.official_report("x", None)["x"]
    assert none["patch_is_None"] and not none["patch_exists"] and "tests_status" not in none


# --- grade_log() on whole eval logs ----------------------------------------------------


def eval_log(test_lines: str, *, before: str = "", after: str = "") -> str:
    return (
        "+ source /opt/miniconda3/bin/activate\n+ conda activate testbed\n+ cd /testbed\n"
        f"{before}"
        "+ : '>>>>> Start Test Output'\n"
        "+ pytest -rA tests/test_blueprints.py\n"
        f"{test_lines}"
        "+ : '>>>>> End Test Output'\n"
        "+ git checkout 7ee9ceb71e868944a46e1ff00b506772a53a4f1d tests/test_blueprints.py\n"
        f"{after}"
    )


FLASK = {
    "instance_id": "pallets__flask-5014",
    "repo": "pallets/flask",
    "log_parser": "parse_log_flask",
    "FAIL_TO_PASS": '["tests/test_blueprints.py::test_empty_name_not_allowed"]',
    "PASS_TO_PASS": json.dumps(["tests/test_blueprints.py::test_blueprint_specific_error_handling",
                                "tests/test_blueprints.py::test_blueprint_prefix_slash[/foo/-//bar-/foo/bar]"]),
}
FLASK_PASS = (
    "PASSED tests/test_blueprints.py::test_blueprint_specific_error_handling\n"
    "PASSED tests/test_blueprints.py::test_blueprint_prefix_slash[/foo/-//bar-/foo/bar]\n"
    "PASSED tests/test_blueprints.py::test_empty_name_not_allowed\n"
    "============================== 3 passed in 0.15s ===============================\n"
)


def test_grade_log_resolves_a_passing_run_and_accepts_lists_or_json_text():
    g = grade_log(eval_log(FLASK_PASS), FLASK)
    assert g.resolved and g.log_error is None and g.patch_applied
    as_lists = FLASK | {k: json.loads(FLASK[k]) for k in ("FAIL_TO_PASS", "PASS_TO_PASS")}
    assert grade_log(eval_log(FLASK_PASS), as_lists) == g
    failing = FLASK_PASS.replace("PASSED tests/test_blueprints.py::test_empty_name_not_allowed",
                                 "FAILED tests/test_blueprints.py::test_empty_name_not_allowed - Failed: DID NOT RAISE")
    g = grade_log(eval_log(failing), FLASK)
    assert not g.resolved and g.f2p_failed == ["tests/test_blueprints.py::test_empty_name_not_allowed"]


def test_grade_log_reads_only_the_test_output_section():
    # a PASSED line outside the markers (e.g. printed by the patch's git diff) does not count
    before = "+ git diff\n+PASSED tests/test_blueprints.py::test_empty_name_not_allowed\n"
    after = "PASSED tests/test_blueprints.py::test_empty_name_not_allowed\n"
    lines = FLASK_PASS.replace("PASSED tests/test_blueprints.py::test_empty_name_not_allowed\n", "")
    g = grade_log(eval_log(lines, before=before, after=after), FLASK)
    assert not g.resolved and g.f2p_failed == ["tests/test_blueprints.py::test_empty_name_not_allowed"]


def test_grade_log_falls_back_to_the_whole_log_when_the_section_has_no_results():
    # results printed after the end marker (stderr/stdout ordering)
    g = grade_log(eval_log("", after=FLASK_PASS), FLASK)
    assert g.resolved and g.log_error is None


@pytest.mark.parametrize("log, reason", [
    (eval_log(FLASK_PASS).replace("+ : '>>>>> End Test Output'\n", ""), "no test output markers"),
    (eval_log(FLASK_PASS).replace("+ : '>>>>> Start Test Output'\n", ""), "no test output markers"),
    (eval_log(FLASK_PASS, before=f"{APPLY_PATCH_FAIL}:\nerror: patch failed: src/flask/blueprints.py:190\n"),
     "Patch Apply Failed"),
    (eval_log(FLASK_PASS, after=f"{TESTS_TIMEOUT}\n"), "Tests Timed Out"),
    (eval_log("ImportError while loading conftest '/testbed/tests/conftest.py'.\n"), "no test results"),
    (eval_log(FLASK_PASS, after=">>>>> Test Exit Code: 1\n"), "exited 1"),
])
def test_grade_log_refuses_logs_the_official_harness_would_not_grade(log, reason):
    g = grade_log(log, FLASK)
    assert not g.resolved and g.status == "resolved_no" and not g.patch_applied
    assert reason in g.log_error
    assert g.f2p_failed == test_names(FLASK["FAIL_TO_PASS"]) and g.p2p_failed == test_names(FLASK["PASS_TO_PASS"])


def test_exit_code_with_a_reported_failure_is_consistent():
    failing = FLASK_PASS.replace("PASSED tests/test_blueprints.py::test_empty_name_not_allowed",
                                 "FAILED tests/test_blueprints.py::test_empty_name_not_allowed")
    g = grade_log(eval_log(failing, after=">>>>> Test Exit Code: 1\n"), FLASK)
    assert g.log_error is None and g.f2p_failed
    assert grade_log(eval_log(FLASK_PASS, after=">>>>> Test Exit Code: 0\n"), FLASK).resolved


def test_grade_log_picks_the_parser_by_field_then_repo_then_pytest():
    django_log = eval_log("test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests) ... ok\n")
    row = {"FAIL_TO_PASS": ["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"],
           "PASS_TO_PASS": []}
    assert grade_log(django_log, row | {"log_parser": "parse_log_django"}).resolved
    assert grade_log(django_log, row | {"repo": "django/django"}).resolved
    assert not grade_log(django_log, row).resolved  # pytest parser: no results
    assert grade_log(eval_log(FLASK_PASS), {k: v for k, v in FLASK.items() if k not in ("log_parser", "repo")}).resolved
    with pytest.raises(KeyError, match="parse_log_nope"):
        grade_log(django_log, row | {"log_parser": "parse_log_nope"})


def test_test_names_accepts_lists_json_text_and_nothing():
    assert test_names('["a", "b"]') == ["a", "b"]
    assert test_names(["a"]) == ["a"]
    assert test_names(None) == [] and test_names("") == [] and test_names("[]") == []
    with pytest.raises(ValueError):
        test_names('{"a": 1}')


# --- every row of SWE-bench Verified ---------------------------------------------------

PASS_LINE = {"parse_log_django": "{} ... ok", "parse_log_sympy": "{} ok"}
FAIL_LINE = {"parse_log_django": "{} ... FAIL", "parse_log_sympy": "{} F"}


def synthetic_log(row: dict, failing: str | None = None) -> str:
    """An eval log in the row's parser format reporting every F2P and P2P test passed."""
    parser = row["log_parser"]
    pass_line = PASS_LINE.get(parser, "PASSED {}")
    fail_line = FAIL_LINE.get(parser, "FAILED {} - AssertionError")
    lines = [(fail_line if name == failing else pass_line).format(name)
             for name in test_names(row["PASS_TO_PASS"]) + test_names(row["FAIL_TO_PASS"])]
    return eval_log("\n".join(lines) + "\n")


def test_every_verified_row_parses_and_grades():
    rows = [json.loads(line) for line in shared_data("swebench_verified.jsonl").read_text().splitlines()
            if line.strip()]
    assert len(rows) == 500
    assert {row["log_parser"] for row in rows} <= set(LOG_PARSERS)
    unresolved, wrongly_resolved = [], []
    for row in rows:
        get_parser(row["log_parser"])
        if not grade_log(synthetic_log(row), row).resolved:
            unresolved.append(row["instance_id"])
        first_f2p = test_names(row["FAIL_TO_PASS"])[0]
        g = grade_log(synthetic_log(row, failing=first_f2p), row)
        if g.resolved or first_f2p not in g.f2p_failed:
            wrongly_resolved.append(row["instance_id"])
    assert unresolved == []
    assert wrongly_resolved == []


def test_contradicted_names_the_tests_reported_failing_and_then_passing():
    from agentforge.harnesses.swebench.grading import contradicted

    row = {"FAIL_TO_PASS": ["t.py::a"], "PASS_TO_PASS": ["t.py::b"], "log_parser": "parse_log_pytest"}
    honest = ">>>>> Start Test Output\nPASSED t.py::b\nFAILED t.py::a - assert 1 == 2\n>>>>> End Test Output\n"
    assert contradicted(honest, row) == []  # failing at the end: no contradiction (and not resolved)
    forged = honest.replace(">>>>> End", "PASSED t.py::a\n>>>>> End")
    assert contradicted(forged, row) == ["t.py::a"]
    assert contradicted(forged.replace("FAILED t.py::a - assert 1 == 2\n", ""), row) == []
