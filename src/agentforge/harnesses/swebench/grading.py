"""Grade a SWE-bench evaluation the way the official harness does.

An instance is resolved when every FAIL_TO_PASS test now passes and every
PASS_TO_PASS test still does. The details that decide real cases:

* passed = reported PASSED or XFAIL. For FAIL_TO_PASS, SKIPPED is a failure (else
  `@pytest.mark.skip` would be a free win); for PASS_TO_PASS, SKIPPED counts as
  maintained (suites skip tests for environment reasons). A test missing from the
  log is a failure; a test reported with a word that is no status (`ERROR:`)
  counts neither way, as officially.
* ~680 dataset ids were cut mid-parameter by the official parser
  (`test_x[log(photon`). When such an id (more `[` than `]`) is not in the map, the
  reported tests it is a prefix of stand in for it, if they all agree on
  passing-vs-not; the first of them decides.
* An empty FAIL_TO_PASS or PASS_TO_PASS list scores 1 (no evidence against).
* `fail_only` instances (JS repos whose parsers only see failures) fail a test only
  when it is reported FAILED.
* A log that shows the patch did not apply, the reset failed, the tests errored or
  timed out, that lacks the test-output markers, whose tests parse to nothing with
  no sign a suite ran, or whose `>>>>> Test Exit Code: N` is non-zero while no
  test is reported FAILED or ERROR, is not graded at all: the instance is
  unresolved.

All of this is swebench 5.0.2's grading.py, written from its behaviour; the slow
test tests/harnesses/swebench/test_official_agreement.py runs the official
package on generated raw logs and requires the same verdict on every one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, Field

from agentforge.harnesses.swebench.log_parsers import (
    END_TEST_OUTPUT,
    REPO_LOG_PARSERS,
    START_TEST_OUTPUT,
    LogParser,
    StatusMap,
    TestStatus,
    get_parser,
    status_of,
)

__all__ = [
    "APPLY_PATCH_FAIL",
    "APPLY_PATCH_PASS",
    "BAD_LOG_MARKERS",
    "END_TEST_OUTPUT",
    "RESET_FAILED",
    "START_TEST_OUTPUT",
    "TESTS_ERROR",
    "TESTS_TIMEOUT",
    "TEST_EXIT_CODE",
    "Grade",
    "grade",
    "grade_log",
    "contradicted",
    "log_failure",
    "parse_instance_log",
    "test_names",
]

# Markers the official harness writes into its logs (swebench.harness.constants).
APPLY_PATCH_FAIL = ">>>>> Patch Apply Failed"
APPLY_PATCH_PASS = ">>>>> Applied Patch"
RESET_FAILED = ">>>>> Reset Failed"
TESTS_ERROR = ">>>>> Tests Errored"
TESTS_TIMEOUT = ">>>>> Tests Timed Out"
TEST_EXIT_CODE = ">>>>> Test Exit Code"  # newer eval scripts: ">>>>> Test Exit Code: 1"
BAD_LOG_MARKERS = (APPLY_PATCH_FAIL, RESET_FAILED, TESTS_ERROR, TESTS_TIMEOUT)

ResolvedStatus = Literal["resolved_full", "resolved_partial", "resolved_no"]
EvalType = Literal["pass_and_fail", "fail_only"]

_PASSING = (TestStatus.PASSED, TestStatus.XFAIL)
# A status in neither tuple (a word such as "ERROR:" that the official parsers keep)
# puts its test in neither list, so it does not count at all: officially so.
_FAILING = (TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED)

# Evidence that a (JavaScript) runner ran even though nothing was parsed; every
# count must be non-zero. Python logs never match, so for them an empty status
# map means the tests did not run.
_SUITE_RAN = re.compile(
    r"Executed [1-9]\d* of \d+"
    r"|TOTAL: [1-9]\d* (?:SUCCESS|FAILED)"
    r"|[1-9]\d* passing"
    r"|Tests:\s+[1-9]\d*"
    r"|Test Suites:\s+(?:\d+ \w+, )*[1-9]\d* total"
    r"|^# tests [1-9]\d*"
    r"|[1-9]\d* specs?, \d+ failures?"
    r"|': ok$",
    re.MULTILINE,
)
_EXIT_CODE = re.compile(rf"{re.escape(TEST_EXIT_CODE)}:\s*(-?\d+)")


class Grade(BaseModel):
    """The verdict on one instance, with the tests behind it."""

    resolved: bool
    status: ResolvedStatus
    f2p_passed: list[str] = Field(default_factory=list)
    f2p_failed: list[str] = Field(default_factory=list)
    p2p_passed: list[str] = Field(default_factory=list)
    p2p_failed: list[str] = Field(default_factory=list)
    # Why the log could not be graded (patch did not apply, timeout, no test
    # output, ...); None for a log that was graded.
    log_error: str | None = None

    @property
    def patch_applied(self) -> bool:
        """The official report's `patch_successfully_applied`."""
        return self.log_error is None

    def tests_status(self) -> dict[str, dict[str, list[str]]]:
        """The official report's `tests_status` block."""
        return {
            "FAIL_TO_PASS": {"success": list(self.f2p_passed), "failure": list(self.f2p_failed)},
            "PASS_TO_PASS": {"success": list(self.p2p_passed), "failure": list(self.p2p_failed)},
            "FAIL_TO_FAIL": {"success": [], "failure": []},
            "PASS_TO_FAIL": {"success": [], "failure": []},
        }

    def official_report(self, instance_id: str, model_patch: str | None) -> dict[str, Any]:
        """This grade as the official `report.json` (`{instance_id: {...}}`)."""
        entry: dict[str, Any] = {
            "patch_is_None": model_patch is None,
            "patch_exists": model_patch is not None,
            "patch_successfully_applied": model_patch is not None and self.patch_applied,
            "resolved": model_patch is not None and self.resolved,
        }
        if entry["patch_successfully_applied"]:
            entry["tests_status"] = self.tests_status()
        return {instance_id: entry}


def _lookup(case: str, status_map: Mapping[str, TestStatus]) -> TestStatus | None:
    """The status reported for `case`, letting a truncated id stand for the full ones."""
    if case in status_map:
        return status_map[case]
    if case.count("[") > case.count("]"):
        candidates = [name for name in status_map if name.startswith(case)]
        if candidates and len({status_map[n] in _PASSING for n in candidates}) == 1:
            return status_map[candidates[0]]
    return None


def _rate(passed: list[str], failed: list[str]) -> float:
    total = len(passed) + len(failed)
    return 1.0 if total == 0 else len(passed) / total


def grade(
    status_map: Mapping[str, TestStatus | str],
    fail_to_pass: Iterable[str],
    pass_to_pass: Iterable[str],
    eval_type: EvalType = "pass_and_fail",
) -> Grade:
    """Grade a parsed status map against an instance's FAIL_TO_PASS / PASS_TO_PASS lists."""
    sm = {name: status_of(str(getattr(status, "value", status))) for name, status in status_map.items()}
    f2p_passed: list[str] = []
    f2p_failed: list[str] = []
    p2p_passed: list[str] = []
    p2p_failed: list[str] = []
    if eval_type == "fail_only":
        for cases, passed, failed in ((fail_to_pass, f2p_passed, f2p_failed), (pass_to_pass, p2p_passed, p2p_failed)):
            for case in cases:
                (failed if sm.get(case) is TestStatus.FAILED else passed).append(case)
    elif eval_type == "pass_and_fail":
        for case in fail_to_pass:
            status = _lookup(case, sm)
            if status in _PASSING:
                f2p_passed.append(case)
            elif status is None or status in _FAILING:  # SKIPPED fails here: a skipped fix proves nothing
                f2p_failed.append(case)
        for case in pass_to_pass:
            status = _lookup(case, sm)
            if status in _PASSING or status is TestStatus.SKIPPED:  # a test the environment skips is no regression
                p2p_passed.append(case)
            elif status is None or status in _FAILING:
                p2p_failed.append(case)
    else:
        raise ValueError(f"unknown eval_type {eval_type!r}; expected 'pass_and_fail' or 'fail_only'")

    f2p, p2p = _rate(f2p_passed, f2p_failed), _rate(p2p_passed, p2p_failed)
    if f2p == 1 and p2p == 1:
        status_word: ResolvedStatus = "resolved_full"
    elif 0 < f2p < 1 and p2p == 1:
        status_word = "resolved_partial"
    else:
        status_word = "resolved_no"
    return Grade(
        resolved=status_word == "resolved_full",
        status=status_word,
        f2p_passed=f2p_passed,
        f2p_failed=f2p_failed,
        p2p_passed=p2p_passed,
        p2p_failed=p2p_failed,
    )


def test_names(value: Any) -> list[str]:
    """A FAIL_TO_PASS / PASS_TO_PASS field as a list: dumps hold a list or its JSON text."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of test names, got {value!r:.200}")
    return list(value)


test_names.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def log_failure(log: str) -> str | None:
    """Why the official harness would refuse to grade this log, or None if it would grade it."""
    for marker in BAD_LOG_MARKERS:
        if marker in log:
            return marker.lstrip("> ")
    if START_TEST_OUTPUT not in log or END_TEST_OUTPUT not in log:
        return "no test output markers"
    return None


def _parser_name(instance: Mapping[str, Any]) -> str:
    name = instance.get("log_parser")
    if name:
        return name
    return REPO_LOG_PARSERS.get(instance.get("repo", ""), "parse_log_pytest")


def parse_instance_log(log: str, instance: Mapping[str, Any]) -> StatusMap:
    """The status map for an eval log: its test-output section, else the whole log."""
    return _parse(log, get_parser(_parser_name(instance)))


def _parse(log: str, parser: LogParser) -> StatusMap:
    # The official slice: from the first start marker to the next start marker or
    # the first end marker after it, whichever comes first (marker lines' rest included).
    status_map = {}
    if START_TEST_OUTPUT in log and END_TEST_OUTPUT in log:
        status_map = parser(log.split(START_TEST_OUTPUT)[1].split(END_TEST_OUTPUT)[0])
    if not status_map:
        # Some runners print results outside the markers (stdout/stderr ordering).
        status_map = parser(log)
    return status_map


def grade_log(log: str, instance: Mapping[str, Any]) -> Grade:
    """Grade one evaluation log for one dataset row.

    `instance` needs `FAIL_TO_PASS` and `PASS_TO_PASS` (lists or JSON text); its
    `log_parser` picks the parser (by `repo` when absent, else pytest) and
    `eval_type` the rule (`pass_and_fail` by default).
    """
    f2p = test_names(instance.get("FAIL_TO_PASS"))
    p2p = test_names(instance.get("PASS_TO_PASS"))
    eval_type = instance.get("eval_type") or "pass_and_fail"
    parser = get_parser(_parser_name(instance))

    error = log_failure(log)
    status_map: StatusMap = {}
    if error is None:
        status_map = _parse(log, parser)
        if not status_map and not _SUITE_RAN.search(log):
            error = "no test results in the log"
    if error is None:
        # A patch can print its own "PASSED" lines (say from a conftest.py hook):
        # a non-zero exit from the test command with no failure reported means the
        # log is not describing the run that happened.
        m = _EXIT_CODE.search(log)
        if m and int(m.group(1)) != 0 and status_map and not any(
            s in (TestStatus.FAILED, TestStatus.ERROR) for s in status_map.values()
        ):
            error = f"test command exited {m.group(1)} but the log reports no failure"
    if error is not None:
        return Grade(resolved=False, status="resolved_no", f2p_failed=f2p, p2p_failed=p2p, log_error=error)
    return grade(status_map, f2p, p2p, eval_type=eval_type)


def contradicted(log: str, instance: Mapping[str, Any]) -> list[str]:
    """The instance's tests that the test output reports failing (FAILED or ERROR) on some line, line by line,
    although the whole log's map (the last line wins) says they passed.

    pytest never reports a test failing and then passing; code under test can, by printing `PASSED <test>`
    at exit, after pytest's own summary, and leaving with exit code 0. Not official (official grading
    takes the last line): `evaluate` applies it to the instances our sandboxes run.
    """
    parser = get_parser(_parser_name(instance))
    section = log.split(START_TEST_OUTPUT)[1].split(END_TEST_OUTPUT)[0] if (
        START_TEST_OUTPUT in log and END_TEST_OUTPUT in log) else log
    wanted = set(test_names(instance.get("FAIL_TO_PASS"))) | set(test_names(instance.get("PASS_TO_PASS")))
    final = _parse(log, parser)
    failing: set[str] = set()
    for line in section.split("\n"):
        for name, status in parser(line).items():
            if name in wanted and status in (TestStatus.FAILED, TestStatus.ERROR):
                failing.add(name)
    return sorted(n for n in failing if final.get(n) in _PASSING)
