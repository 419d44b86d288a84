"""Turn a SWE-bench evaluation log into a map of test name -> status.

The FAIL_TO_PASS / PASS_TO_PASS names in the SWE-bench datasets were produced by
the official harness's own log parsers, so a test only counts when *our* parser
yields exactly the name theirs did. That is why these functions keep the official
parsers' quirks instead of "fixing" them: a pytest id is cut at its first
whitespace (`test_x[a b]` is recorded as `test_x[a`), Django tests with a
docstring are keyed by the docstring's first line, sympy tests by their bare
function name. Each parser is written from the behaviour of the official one;
the quirk it reproduces is said where it lives.

Every parser is `log -> dict[str, TestStatus]`; a later line about the same test
overrides an earlier one. `LOG_PARSERS` is keyed by the names the dataset's
`log_parser` field uses (`parse_log_django`, ...).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Callable

START_TEST_OUTPUT = ">>>>> Start Test Output"
END_TEST_OUTPUT = ">>>>> End Test Output"


class TestStatus(str, Enum):
    """A test outcome, spelled as pytest's `-rA` short summary spells it."""

    __test__ = False  # not a pytest test class, whatever its name says

    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"
    XFAIL = "XFAIL"


StatusMap = dict[str, "TestStatus | str"]  # str: a word the official parsers keep as it is
LogParser = Callable[[str], StatusMap]


# --- the test-output section of an eval log ---------------------------------------


def find_test_output(log: str) -> str | None:
    """The text between the start and end markers, or None when a marker is missing.

    The eval scripts print the markers with `: '>>>>> Start Test Output'`, which a
    `set -x` shell echoes as `+ : '>>>>> Start Test Output'`; the rest of both
    marker lines is dropped. The section runs from the first start marker to the
    first end marker after it (to the end of the log if the only end marker comes
    earlier), and a log lacking either marker never ran the tests (the official
    grader then reports the patch as not applied). This is for showing a log;
    grading takes the official slice (grading._parse), which also stops at a
    second start marker and keeps the rest of the marker lines.
    """
    start = log.find(START_TEST_OUTPUT)
    if start < 0 or END_TEST_OUTPUT not in log:
        return None
    body_start = log.find("\n", start)
    if body_start < 0:
        return ""
    body_start += 1
    end = log.find(END_TEST_OUTPUT, body_start)
    if end < 0:
        return log[body_start:]
    return log[body_start : log.rfind("\n", body_start, end) + 1]


def test_output(log: str) -> str:
    """The test-output section of an eval log; "" when a marker is missing (no tests ran)."""
    section = find_test_output(log)
    return "" if section is None else section


test_output.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


# --- pytest ------------------------------------------------------------------------

_STATUS_VALUES = tuple(s.value for s in TestStatus)
_SKIP_SUMMARY_COUNT = re.compile(r"\[\d+\]")  # "SKIPPED [2] path.py:12: reason" names no test


def status_of(word: str) -> TestStatus | str:
    """A TestStatus for a status word; any other word as it is, as the official maps keep it.

    The official parsers take whatever word starts a line that starts with a status
    (`ERROR:` from "ERROR: file not found", `PASSEDx`), and grading then counts such a
    test neither passed nor failed. Keeping the word keeps that verdict.
    """
    return TestStatus(word) if word in _STATUS_VALUES else word


def _status_first(line: str) -> tuple[str, TestStatus | str] | None:
    """A `STATUS id ...` line (the `-rA` short summary) -> (id, status), as swebench 5.0.2 reads it.

    The line must start with a status (not necessarily a word of its own); its
    second whitespace-separated word is the id, so an id is cut at its first
    space, and for FAILED lines a ` - ` (pytest's message separator) counts as a
    space. `-v` progress lines (`id PASSED [ 10%]`) are not read.
    """
    if not line.startswith(_STATUS_VALUES):
        return None
    if line.startswith(TestStatus.FAILED.value):
        line = line.replace(" - ", " ")
    words = line.split()
    if len(words) < 2 or (words[0] == TestStatus.SKIPPED.value and _SKIP_SUMMARY_COUNT.fullmatch(words[1])):
        return None
    return words[1], status_of(words[0])


def _read(log: str, read_line) -> StatusMap:
    results: StatusMap = {}
    for line in log.split("\n"):
        parsed = read_line(line)
        if parsed:
            results[parsed[0]] = parsed[1]
    return results


def parse_log_pytest(log: str) -> StatusMap:
    """pytest `-rA` output: `PASSED tests/test_x.py::test_y[param]`, `FAILED ... - msg`, ..."""
    return _read(log, _status_first)


_PARAMETRIZED = re.compile(r"(.*?)\[(.*)\]")


def _shorten_path_param(name: str) -> str:
    """`test_stdin[/tmp/pytest-of-root/pytest-0/x/mymodule.py]` -> `test_stdin[/mymodule.py]`.

    A parameter that is an absolute path (one leading slash, no `*`) is cut to its
    last component, so ids holding per-run temporary paths compare equal across
    runs; `//host/...` URLs and globs are left alone. Text after the last `]` is
    dropped, as the official parser's match does.
    """
    m = _PARAMETRIZED.search(name)
    if not m:
        return name
    head, param = m.groups()
    if param.startswith("/") and not param.startswith("//") and "*" not in param:
        param = "/" + param.split("/")[-1]
    return f"{head}[{param}]"


def parse_log_pytest_options(log: str) -> StatusMap:
    """pytest output whose parametrized ids may hold absolute paths (requests, pylint, pydicom)."""
    def read(line: str):
        parsed = _status_first(line)
        return (_shorten_path_param(parsed[0]), parsed[1]) if parsed else None

    return _read(log, read)


_COLOUR_CODE = re.compile(r"\[(\d+)m")  # what is left of "\x1b[32m" ... once found
_CONTROL_CHARS = str.maketrans("", "", "".join(chr(c) for c in range(1, 32)))


def _pytest_v2_line(line: str) -> tuple[str, TestStatus | str] | None:
    line = _COLOUR_CODE.sub("", line).translate(_CONTROL_CHARS)
    if line.startswith(_STATUS_VALUES):
        if line.startswith(TestStatus.FAILED.value):
            line = line.split(" - ", 1)[0]  # the message goes; other statuses keep theirs in the id
        words = line.split()
        if len(words) < 2 or (words[0] == TestStatus.SKIPPED.value and _SKIP_SUMMARY_COUNT.fullmatch(words[1])):
            return None
        return " ".join(words[1:]), status_of(words[0])
    if line.endswith(_STATUS_VALUES):
        words = line.split()
        if len(words) >= 2:
            return " ".join(words[:-1]), status_of(words[-1])
    return None


def parse_log_pytest_v2(log: str) -> StatusMap:
    """pytest output with colour (astropy, scikit-learn, sphinx), as swebench 5.0.2 reads it.

    Every `[<digits>m` is removed (even without its ESC, so a literal `[1m` inside
    an id goes too) and then every control character 0x01-0x1f (ESC, tab, CR).
    A line starting with a status keys the rest of the line, spaces kept (a FAILED
    line loses its ` - message`); a line ending with one keys what comes before
    it. So `-v` lines count only when nothing follows the status.
    """
    return _read(log, _pytest_v2_line)


def parse_log_matplotlib(log: str) -> StatusMap:
    """matplotlib's pytest output: `STATUS id` lines, after `MouseButton.LEFT` / `.RIGHT` become `1` / `3`.

    That makes ids parametrized by the enum match the dataset whichever way the
    installed matplotlib prints it.
    """
    return _read(log, lambda line: _status_first(line.replace("MouseButton.LEFT", "1")
                                                 .replace("MouseButton.RIGHT", "3")))


def parse_log_seaborn(log: str) -> StatusMap:
    """seaborn's pytest output: only PASSED and FAILED are recorded.

    `FAILED id ...`, `PASSED id` and `id PASSED ...` count; SKIPPED, ERROR and XFAIL
    lines are ignored, so such a test is missing from the map.
    """
    results: StatusMap = {}
    for line in log.split("\n"):
        words = line.split()
        if line.startswith(TestStatus.FAILED.value):
            if len(words) > 1:
                results[words[1]] = TestStatus.FAILED
        elif " PASSED " in line:
            if len(words) > 1 and words[1] == TestStatus.PASSED.value:
                results[words[0]] = TestStatus.PASSED
        elif line.startswith(TestStatus.PASSED.value):
            if len(words) > 1:
                results[words[1]] = TestStatus.PASSED
    return results


# --- Django ------------------------------------------------------------------------

_DJANGO_PASS_ENDINGS = (" ... ok", " ... OK", " ...  OK")
# django__django-7188: a migration progress line and the test share one line.
_DJANGO_7188_PREFIX = "Applying sites.0002_alter_domain_unique...test_no_migrations"
# Output printed between "name ..." and the final "ok" on its own line, seen in
# three shapes; these are matched against the whole, unstripped log.
_DJANGO_INTERRUPTED_PASSES = [
    re.compile(
        r"^(.*?)\s\.\.\.\sTesting against Django installed in (?s:.*?) silenced\)\.\nok$",
        re.MULTILINE,
    ),
    re.compile(r"^(.*?)\s\.\.\.\sInternal Server Error: /(.*)/\nok$", re.MULTILINE),
    # Officially written without the final "." Django prints, so it fires only on
    # logs that lack it; the line-by-line "ok" rule covers the usual case.
    re.compile(r"^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$", re.MULTILINE),
]
_DJANGO_VERSION_TEST = "--version is equivalent to version"


def parse_log_django(log: str) -> StatusMap:
    """Django's runtests.py at verbosity 2: `test_x (app.tests.Class) ... ok|FAIL|ERROR|skipped`.

    A test with a docstring prints its name on one line and the docstring's first
    line before ` ... ok` on the next, so the docstring line is the key. A line
    that starts with `ok` marks the last `... `-line's test passed (its output
    came in between). `FAIL: test_x (...)` / `ERROR: ...` headers record the bare
    method name. `expected failure` and `unexpected success` are not recorded.
    """
    results: StatusMap = {}
    last_started: str | None = None
    for raw in log.split("\n"):
        line = raw.strip()
        if _DJANGO_VERSION_TEST in line:
            results[_DJANGO_VERSION_TEST] = TestStatus.PASSED
        if " ... " in line:
            last_started = line.split(" ... ")[0]
        for ending in _DJANGO_PASS_ENDINGS:
            if line.endswith(ending):
                if line.startswith(_DJANGO_7188_PREFIX):
                    line = line.split("...", 1)[-1].strip()
                results[line.rsplit(ending, 1)[0]] = TestStatus.PASSED
                break
        if " ... skipped" in line:
            results[line.split(" ... skipped")[0]] = TestStatus.SKIPPED
        if line.endswith(" ... FAIL"):
            results[line.split(" ... FAIL")[0]] = TestStatus.FAILED
        if line.startswith("FAIL:") and len(line.split()) > 1:
            results[line.split()[1]] = TestStatus.FAILED
        if line.endswith(" ... ERROR"):
            results[line.split(" ... ERROR")[0]] = TestStatus.ERROR
        if line.startswith("ERROR:") and len(line.split()) > 1:
            results[line.split()[1]] = TestStatus.ERROR
        if line.startswith("ok") and last_started is not None:
            results[last_started] = TestStatus.PASSED
    for pattern in _DJANGO_INTERRUPTED_PASSES:
        for m in pattern.finditer(log):
            results[m.group(1)] = TestStatus.PASSED
    return results


# --- sympy -------------------------------------------------------------------------

# "____ sympy/core/tests/test_basic.py:test_foo ____" opens a failure's traceback.
_SYMPY_FAILURE_HEADER = re.compile(r"_* (.*)\.py:(.*) _*")


def parse_log_sympy(log: str) -> StatusMap:
    """sympy's `bin/test --verbose`: `test_name ok`, `test_name F`, `test_name E`.

    Keys are bare function names. Each traceback header `___ path.py:test_name ___`
    also records `path.py:test_name` as FAILED (a different key from the bare
    name), which is all a failure leaves when output interrupted its verbose line.
    Other sympy outcomes (`f` expected failure, `s` skip, `X`, `T`, `w`) are not
    recorded.
    """
    results: StatusMap = {}
    for module, test in _SYMPY_FAILURE_HEADER.findall(log):
        results[f"{module}.py:{test}"] = TestStatus.FAILED
    for raw in log.split("\n"):
        line = raw.strip()
        if not line.startswith("test_"):
            continue
        name = line.split()[0]
        if line.endswith(" E"):
            results[name] = TestStatus.ERROR
        elif line.endswith(" F"):
            results[name] = TestStatus.FAILED
        elif line.endswith(" ok"):
            results[name] = TestStatus.PASSED
    return results


# --- registry ----------------------------------------------------------------------

LOG_PARSERS: dict[str, LogParser] = {
    "parse_log_pytest": parse_log_pytest,
    "parse_log_pytest_options": parse_log_pytest_options,
    "parse_log_pytest_v2": parse_log_pytest_v2,
    "parse_log_django": parse_log_django,
    "parse_log_sympy": parse_log_sympy,
    "parse_log_matplotlib": parse_log_matplotlib,
    "parse_log_seaborn": parse_log_seaborn,
    # per-repository names, as the official harness aliases them
    "parse_log_astroid": parse_log_pytest,
    "parse_log_flask": parse_log_pytest,
    "parse_log_marshmallow": parse_log_pytest,
    "parse_log_pvlib": parse_log_pytest,
    "parse_log_pyvista": parse_log_pytest,
    "parse_log_sqlfluff": parse_log_pytest,
    "parse_log_xarray": parse_log_pytest,
    "parse_log_pydicom": parse_log_pytest_options,
    "parse_log_requests": parse_log_pytest_options,
    "parse_log_pylint": parse_log_pytest_options,
    "parse_log_astropy": parse_log_pytest_v2,
    "parse_log_scikit": parse_log_pytest_v2,
    "parse_log_sphinx": parse_log_pytest_v2,
}

# For dataset dumps without a `log_parser` field (the original Hugging Face rows):
# the parser the official harness picks by repository.
REPO_LOG_PARSERS: dict[str, str] = {
    "astropy/astropy": "parse_log_astropy",
    "django/django": "parse_log_django",
    "marshmallow-code/marshmallow": "parse_log_marshmallow",
    "matplotlib/matplotlib": "parse_log_matplotlib",
    "mwaskom/seaborn": "parse_log_seaborn",
    "pallets/flask": "parse_log_flask",
    "psf/requests": "parse_log_requests",
    "pvlib/pvlib-python": "parse_log_pvlib",
    "pydata/xarray": "parse_log_xarray",
    "pydicom/pydicom": "parse_log_pydicom",
    "pylint-dev/astroid": "parse_log_astroid",
    "pylint-dev/pylint": "parse_log_pylint",
    "pytest-dev/pytest": "parse_log_pytest",
    "pyvista/pyvista": "parse_log_pyvista",
    "scikit-learn/scikit-learn": "parse_log_scikit",
    "sqlfluff/sqlfluff": "parse_log_sqlfluff",
    "sphinx-doc/sphinx": "parse_log_sphinx",
    "sympy/sympy": "parse_log_sympy",
}


def get_parser(name: str) -> LogParser:
    """The parser a dataset row's `log_parser` field names; KeyError listing the known names."""
    try:
        return LOG_PARSERS[name]
    except KeyError:
        known = ", ".join(sorted(LOG_PARSERS))
        raise KeyError(f"unknown SWE-bench log parser {name!r}; known parsers: {known}") from None
