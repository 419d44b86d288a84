"""The SWE-bench log parsers on hand-written logs shaped like real eval output."""

import pytest

from agentforge.harnesses.swebench.log_parsers import (
    LOG_PARSERS,
    TestStatus,
    find_test_output,
    get_parser,
    parse_log_django,
    parse_log_matplotlib,
    parse_log_pytest,
    parse_log_pytest_options,
    parse_log_pytest_v2,
    parse_log_seaborn,
    parse_log_sympy,
    test_output,
)

P, F, E, S, X = (TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED, TestStatus.XFAIL)

# --- test_output ---------------------------------------------------------------------

EVAL_LOG = """\
+ git apply -v -
Checking patch astropy/modeling/tests/test_separable.py...
Applied patch astropy/modeling/tests/test_separable.py cleanly.
+ : '>>>>> Start Test Output'
+ pytest -rA astropy/modeling/tests/test_separable.py
============================= test session starts ==============================
PASSED astropy/modeling/tests/test_separable.py::test_coord_matrix
FAILED astropy/modeling/tests/test_separable.py::test_separable[compound_model9-result9] - assert False
========================= 1 failed, 1 passed in 0.21s ==========================
+ : '>>>>> End Test Output'
+ git checkout d16bfe05a744909de4b27f5875fe0d4ed41ce607 astropy/modeling/tests/test_separable.py
Updated 1 path from 3b4c5a2
"""


def test_test_output_is_the_section_between_the_set_x_markers():
    out = test_output(EVAL_LOG)
    assert out.startswith("+ pytest -rA astropy/")
    assert out.endswith("1 failed, 1 passed in 0.21s ==========================\n")
    assert ">>>>>" not in out and "git checkout" not in out and "git apply" not in out


def test_test_output_without_markers_means_no_tests_ran():
    no_end = EVAL_LOG.split("+ : '>>>>> End Test Output'")[0]
    no_start = EVAL_LOG.replace("+ : '>>>>> Start Test Output'\n", "")
    for log in (no_end, no_start, ""):
        assert find_test_output(log) is None
        assert test_output(log) == ""


def test_test_output_takes_the_first_start_and_the_first_end_after_it():
    log = (": '>>>>> End Test Output'\nstale\n"
           ": '>>>>> Start Test Output'\nPASSED a.py::t\n: '>>>>> End Test Output'\n"
           ": '>>>>> Start Test Output'\nPASSED b.py::t\n: '>>>>> End Test Output'\n")
    assert test_output(log) == "PASSED a.py::t\n"
    # markers printed directly after each other: an empty section, not None
    assert find_test_output(": '>>>>> Start Test Output'\n: '>>>>> End Test Output'\n") == ""


# --- pytest -rA ----------------------------------------------------------------------

PYTEST_RA = """\
============================= test session starts ==============================
platform linux -- Python 3.9.19, pytest-7.4.4, pluggy-1.5.0
rootdir: /testbed
collected 9 items

xarray/tests/test_units.py ..F.sxX.E                                     [100%]

==================================== ERRORS ====================================
_______________ ERROR at setup of TestVariable.test_isel[fixture] ______________
E   fixture 'missing' not found
=================================== FAILURES ===================================
___ TestVariable.test_binary_operations[float64-matrix multiply] ___
E   TypeError: unsupported operand
==================================== PASSES ====================================
=========================== short test summary info ============================
PASSED xarray/tests/test_units.py::TestVariable::test_isel[float64-single value]
PASSED xarray/tests/test_units.py::TestVariable::test_aggregation[float64-sum]
FAILED xarray/tests/test_units.py::TestVariable::test_binary_operations[float64-matrix multiply] - TypeError: unsupported operand
FAILED xarray/tests/test_units.py::test_align[a - b] - AssertionError: x - y
SKIPPED [1] xarray/tests/test_units.py:1203: requires dask
SKIPPED [2] xarray/tests/__init__.py:88: could not import 'pint'
XFAIL xarray/tests/test_units.py::TestVariable::test_searchsorted - indexes don't support units
XPASS xarray/tests/test_units.py::TestVariable::test_pad strict
ERROR xarray/tests/test_units.py::TestVariable::test_isel[fixture] - fixture 'missing' not found
ERROR: file or directory not found: xarray/tests/test_nothing.py
============= 2 failed, 2 passed, 3 skipped, 1 xfailed, 1 xpassed, 1 error in 2.31s =============
"""


def test_pytest_reads_the_short_summary():
    sm = parse_log_pytest(PYTEST_RA)
    assert sm == {
        # an id is cut at its first whitespace: the dataset holds the same cut ids
        "xarray/tests/test_units.py::TestVariable::test_isel[float64-single": P,
        "xarray/tests/test_units.py::TestVariable::test_aggregation[float64-sum]": P,
        "xarray/tests/test_units.py::TestVariable::test_binary_operations[float64-matrix": F,
        # " - " inside the id is cut the same way for FAILED as for PASSED
        "xarray/tests/test_units.py::test_align[a": F,
        "xarray/tests/test_units.py::TestVariable::test_searchsorted": X,
        "xarray/tests/test_units.py::TestVariable::test_isel[fixture]": E,
        # "ERROR: file or directory not found: ..." starts with a status: swebench 5.0.2
        # keeps the word "ERROR:" as the status of a "test" named "file" (graded neither way)
        "file": "ERROR:",
    }
    # no "[1]" pseudo-test from skip-reason lines, no XPASS, no "____ ERROR at setup" banner
    assert "[1]" not in sm and "_______________" not in sm


def test_pytest_reads_only_status_first_lines_and_later_lines_win():
    log = (
        "testing/test_mark.py::test_mark_option[xyz] PASSED                        [ 10%]\n"
        "testing/test_mark.py::test_skipped SKIPPED (unconditional skip)           [ 30%]\n"
        "FAILED testing/test_mark.py::test_mark_option[xyz] - assert 0\n"
        "\n"
        "PASSED testing/test_mark.py::test_mark_option[xyz]\n"
    )
    # swebench 5.0.2 reads no `-v` progress line ("id STATUS [ 10%]"): a test seen only
    # there is missing, which fails it; the last summary line about a test wins
    assert parse_log_pytest(log) == {"testing/test_mark.py::test_mark_option[xyz]": P}


def test_pytest_keeps_a_glued_status_word_as_officially():
    log = "PASSEDx a.py::t\nFAILURES\nsome text PASSED\nXPASS a.py::u\n  PASSED indented.py::t\nPASSED\n"
    # a line that starts with a status names its second word, whatever the first is
    assert parse_log_pytest(log) == {"a.py::t": "PASSEDx"}


# --- the "options" variant (requests, pylint, pydicom) --------------------------------


def test_options_parser_shortens_absolute_path_parameters():
    log = (
        "PASSED tests/test_self.py::TestRunTC::test_stdin[/tmp/pytest-of-root/pytest-0/test_stdin0/mymodule.py]\n"
        "PASSED tests/test_utils.py::TestExtractZippedPaths::test_unzipped_paths_unchanged[/]\n"
        "PASSED tests/test_utils.py::test_urldefragauth[//u:p@example.com/path-//example.com/path]\n"
        "PASSED tests/test_utils.py::test_glob[/tmp/*/x.py]\n"
        "FAILED tests/test_utils.py::test_get_auth_from_url[http://user:pass@complex.url.com/path?query=yes-auth0] - x\n"
        "PASSED tests/test_utils.py::test_parse_dict_header[foo=\"is a fish\", bar=\"as well\"-expected1]\n"
        "PASSED tests/test_lint.py::test_plain\n"
    )
    sm = parse_log_pytest_options(log)
    assert sm == {
        "tests/test_self.py::TestRunTC::test_stdin[/mymodule.py]": P,
        "tests/test_utils.py::TestExtractZippedPaths::test_unzipped_paths_unchanged[/]": P,
        "tests/test_utils.py::test_urldefragauth[//u:p@example.com/path-//example.com/path]": P,  # "//" kept
        "tests/test_utils.py::test_glob[/tmp/*/x.py]": P,  # a glob is kept
        "tests/test_utils.py::test_get_auth_from_url[http://user:pass@complex.url.com/path?query=yes-auth0]": F,
        "tests/test_utils.py::test_parse_dict_header[foo=\"is": P,  # truncated: no "]", left alone
        "tests/test_lint.py::test_plain": P,
    }
    # the plain parser keeps the full path, which is why flask (whose ids start
    # with "/") must not use this variant
    assert "tests/test_self.py::TestRunTC::test_stdin[/mymodule.py]" not in parse_log_pytest(log)
    flask = "PASSED tests/test_blueprints.py::test_blueprint_prefix_slash[/foo/-/bar-/foo/bar]\n"
    assert list(parse_log_pytest_options(flask)) == ["tests/test_blueprints.py::test_blueprint_prefix_slash[/bar]"]
    assert list(LOG_PARSERS["parse_log_flask"](flask)) == [
        "tests/test_blueprints.py::test_blueprint_prefix_slash[/foo/-/bar-/foo/bar]"]


# --- the v2 variant (astropy, scikit-learn, sphinx): colour and both orders -----------

ESC = "\x1b"
COLOURED = (
    f"{ESC}[1m============================= test session starts =============================={ESC}[0m\n"
    f"astropy/units/tests/test_format.py::test_cds_grammar[km/s] {ESC}[32mPASSED{ESC}[0m{ESC}[32m  [ 25%]{ESC}[0m\n"
    f"astropy/units/tests/test_format.py::test_cds_grammar_fail[km/s/] {ESC}[31mFAILED{ESC}[0m{ESC}[31m [ 50%]{ESC}[0m\n"
    f"{ESC}[32mPASSED{ESC}[0m astropy/units/tests/test_format.py::test_ogip_grammar[count /s]\n"
    f"{ESC}[31mFAILED{ESC}[0m astropy/units/tests/test_format.py::test_roundtrip[unit0] - "
    f"{ESC}[31mAssertionError: assert 'km' == 'm'{ESC}[0m\n"
    f"{ESC}[33mSKIPPED{ESC}[0m [1] astropy/units/tests/test_format.py:470: needs scipy\n"
    f"{ESC}[33mXFAIL{ESC}[0m astropy/units/tests/test_format.py::test_flexible[x] - reason\n"
    f"{ESC}[31m{ESC}[1m========= 2 failed, 2 passed, 1 skipped, 1 xfailed in 0.88s ========={ESC}[0m\r\n"
)


def test_v2_strips_colour_and_keys_the_rest_of_the_line():
    sm = parse_log_pytest_v2(COLOURED)
    assert sm == {
        # status first: the rest of the line is the id, spaces kept; FAILED drops " - message"
        "astropy/units/tests/test_format.py::test_ogip_grammar[count /s]": P,
        "astropy/units/tests/test_format.py::test_roundtrip[unit0]": F,
        "astropy/units/tests/test_format.py::test_flexible[x] - reason": X,  # other statuses keep it
        # "-v" lines count only when the status ends the line (these end in "[ 25%]")
    }
    assert parse_log_pytest_v2(f"a.py::test_b[x y] {ESC}[32mPASSED{ESC}[0m\n") == {"a.py::test_b[x y]": P}
    # the plain parser does not see through the escapes
    assert "astropy/units/tests/test_format.py::test_roundtrip[unit0]" not in parse_log_pytest(COLOURED)


def test_v2_drops_colour_codes_even_without_their_escape():
    # a literal "[1m" inside an id goes too; the dataset ids were made this way
    assert parse_log_pytest_v2("PASSED a.py::test_unit[1m]\n") == {"a.py::test_unit]": P}
    assert parse_log_pytest("PASSED a.py::test_unit[1m]\n") == {"a.py::test_unit[1m]": P}


# --- matplotlib and seaborn -----------------------------------------------------------


def test_matplotlib_rewrites_mouse_buttons_and_reads_status_first_lines_only():
    # (no "[2]" pseudo-test from the skip-reason count, since swebench 5.0.2)
    log = (
        "PASSED lib/matplotlib/tests/test_widgets.py::test_span_selector_onselect[MouseButton.LEFT]\n"
        "FAILED lib/matplotlib/tests/test_widgets.py::test_rectangle_drag[MouseButton.RIGHT-True] - assert 0\n"
        "PASSED lib/matplotlib/tests/test_axes.py::test_stem[png-w/ line collection]\n"
        "lib/matplotlib/tests/test_axes.py::test_verbose_form PASSED [ 50%]\n"
        "SKIPPED [2] lib/matplotlib/testing/compare.py:285: Don't know how to convert .svg files to png\n"
        "ERROR lib/matplotlib/tests/test_backend_qt.py::test_fig_close - ImportError\n"
    )
    sm = parse_log_matplotlib(log)
    assert sm == {
        "lib/matplotlib/tests/test_widgets.py::test_span_selector_onselect[1]": P,
        "lib/matplotlib/tests/test_widgets.py::test_rectangle_drag[3-True]": F,
        "lib/matplotlib/tests/test_axes.py::test_stem[png-w/": P,
        "lib/matplotlib/tests/test_backend_qt.py::test_fig_close": E,
    }


def test_seaborn_records_only_passed_and_failed():
    log = (
        "tests/test_core.py::TestVectorPlotter::test_long_df PASSED          [ 10%]\n"
        "PASSED tests/test_core.py::TestHueMapping::test_init_from_map\n"
        "FAILED tests/_core/test_plot.py::TestLayerAddition::test_with_new_data_definition - KeyError: 'x'\n"
        "SKIPPED [1] tests/test_distributions.py:2155: Test requires scipy >= 1.3\n"
        "XFAIL tests/_core/test_plot.py::TestPlotting::test_limits - dtype check\n"
        "ERROR tests/test_regression.py::TestRegressionPlotter::test_lowess - ImportError\n"
    )
    assert parse_log_seaborn(log) == {
        "tests/test_core.py::TestVectorPlotter::test_long_df": P,
        "tests/test_core.py::TestHueMapping::test_init_from_map": P,
        "tests/_core/test_plot.py::TestLayerAddition::test_with_new_data_definition": F,
    }


# --- Django ----------------------------------------------------------------------------

DJANGO = """\
Testing against Django installed in '/testbed/django'
Importing application auth_tests
Skipping setup of unused database(s): other.
Operations to perform:
  Apply all migrations: admin, sites
Running migrations:
  Applying admin.0001_initial... OK
System check identified no issues (0 silenced).
test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests) ... ok
test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests) ... FAIL
test_help_text (auth_tests.test_validators.UserAttributeSimilarityValidatorTest) ... ERROR
test_validate_property (auth_tests.test_validators.UserAttributeSimilarityValidatorTest) ... skipped 'Database has feature(s) supports_foo'
test_named_urls (urlpatterns_reverse.tests.URLPatternReverse)
Named URLs should be reversible ... ok
test_known_bug (auth_tests.test_validators.NumericPasswordValidatorTest) ... expected failure
test_noisy_output (auth_tests.test_management.ChangepasswordManagementCommandTestCase) ... Changing password for user 'joe'
Password changed successfully for user 'joe'
ok
test_system_username (auth_tests.test_management.GetDefaultUsernameTestCase) ... OK
test_interrupted (admin_scripts.tests.ManageRunserver) ... Testing against Django installed in '/testbed/django' with up to 1 processes
Apply all migrations ... done
System check identified no issues (0 silenced).
ok

======================================================================
FAIL: test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/testbed/tests/auth_tests/test_validators.py", line 250, in test_unicode_validator
AssertionError: ValidationError not raised

======================================================================
ERROR: test_help_text (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)
----------------------------------------------------------------------
Ran 9 tests in 0.112s

FAILED (failures=1, errors=1, skipped=1, expected failures=1)
"""


def test_django_statuses_and_docstring_keys():
    sm = parse_log_django(DJANGO)
    assert sm["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"] is P
    assert sm["test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)"] is F
    assert sm["test_help_text (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)"] is E
    assert sm["test_validate_property (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)"] is S
    assert sm["test_system_username (auth_tests.test_management.GetDefaultUsernameTestCase)"] is P
    # a test with a docstring is keyed by the docstring line, not its name
    assert sm["Named URLs should be reversible"] is P
    assert not any(k.startswith("test_named_urls") for k in sm)
    # "expected failure" is not an outcome the parser records
    assert not any(k.startswith("test_known_bug") for k in sm)
    # the FAIL:/ERROR: headers record the bare method name
    assert sm["test_unicode_validator"] is F and sm["test_help_text"] is E


def test_django_ok_on_its_own_line_after_interleaved_output():
    sm = parse_log_django(DJANGO)
    assert sm["test_noisy_output (auth_tests.test_management.ChangepasswordManagementCommandTestCase)"] is P
    # the interrupted test passes even though a " ... " line came between it and "ok"
    assert sm["test_interrupted (admin_scripts.tests.ManageRunserver)"] is P
    # ... and that in-between line's text is also (harmlessly) marked passed
    assert sm["Apply all migrations"] is P
    # migration progress is not a test
    assert not any("0001_initial" in k for k in sm)


def test_django_special_cases():
    log = (
        "test_version (admin_scripts.tests.CommandTypes)\n"
        "--version is equivalent to version\n"
        "4.1.dev20220210074827\n"
        "Applying sites.0002_alter_domain_unique...test_no_migrations (migrations.test_loader.LoaderTests) ... ok\n"
        "test_crlf (x.Y) ... ok\r\n"
        "test_server_error (view_tests.tests.DebugViewTests) ... Internal Server Error: /raises500/\n"
        "ok\n"
    )
    sm = parse_log_django(log)
    assert sm["--version is equivalent to version"] is P
    assert sm["test_no_migrations (migrations.test_loader.LoaderTests)"] is P
    assert sm["test_crlf (x.Y)"] is P
    assert sm["test_server_error (view_tests.tests.DebugViewTests)"] is P


# --- sympy -----------------------------------------------------------------------------

SYMPY = """\
============================= test process starts ==============================
executable:         /opt/miniconda3/envs/testbed/bin/python  (3.9.19-final-0) [CPython]
architecture:       64-bit
ground types:       python
random seed:        41926617
hash randomization: on (PYTHONHASHSEED=2934572)

sympy/geometry/tests/test_point.py[8]
test_point ok
test_point3D ok
test_issue_9214 E
test_issue_11617 F
test_transform f
test_slow_case s
test_print_output Point2D(1, 2)
F
test_concyclic_doctest_bug ok                                             [FAIL]


________________________________________________________________________________
________ sympy/geometry/tests/test_point.py:test_issue_9214 ____________________
Traceback (most recent call last):
  File "/testbed/sympy/geometry/tests/test_point.py", line 243, in test_issue_9214
NameError: name 'p4' is not defined
________________________________________________________________________________
________ sympy/geometry/tests/test_point.py:test_issue_11617 ___________________
  File "/testbed/sympy/geometry/tests/test_point.py", line 250, in test_issue_11617
AssertionError
________________________________________________________________________________
_______ sympy/geometry/tests/test_point.py:test_print_output __________________
AssertionError

== tests finished: 3 passed, 2 failed, 1 skipped, 1 expected to fail, 1 exceptions, in 0.51 seconds ==
DO *NOT* COMMIT!
"""


def test_sympy_verbose_lines_and_failure_headers():
    sm = parse_log_sympy(SYMPY)
    assert sm["test_point"] is P and sm["test_point3D"] is P
    assert sm["test_issue_9214"] is E
    assert sm["test_issue_11617"] is F
    # headers add "path.py:name" keys
    assert sm["sympy/geometry/tests/test_point.py:test_issue_9214"] is F
    assert sm["sympy/geometry/tests/test_point.py:test_issue_11617"] is F
    # a failure whose verbose line was interrupted by output is known only from its header
    assert "test_print_output" not in sm
    assert sm["sympy/geometry/tests/test_point.py:test_print_output"] is F
    # expected failure (f) and skip (s) are not recorded
    assert "test_transform" not in sm and "test_slow_case" not in sm
    # the last test of a file shares its line with the file's [OK]/[FAIL] and is
    # not recorded either (so the dataset never lists it)
    assert "test_concyclic_doctest_bug" not in sm


# --- registry --------------------------------------------------------------------------


@pytest.mark.parametrize("name, parser", [
    ("parse_log_astropy", parse_log_pytest_v2), ("parse_log_scikit", parse_log_pytest_v2),
    ("parse_log_sphinx", parse_log_pytest_v2), ("parse_log_requests", parse_log_pytest_options),
    ("parse_log_pylint", parse_log_pytest_options), ("parse_log_xarray", parse_log_pytest),
    ("parse_log_flask", parse_log_pytest), ("parse_log_pytest", parse_log_pytest),
    ("parse_log_django", parse_log_django), ("parse_log_sympy", parse_log_sympy),
    ("parse_log_matplotlib", parse_log_matplotlib), ("parse_log_seaborn", parse_log_seaborn),
])
def test_registry_maps_official_names_to_the_right_variant(name, parser):
    assert get_parser(name) is parser


def test_unknown_parser_name_is_a_clear_error():
    with pytest.raises(KeyError, match=r"unknown SWE-bench log parser 'parse_log_jest'.*parse_log_django"):
        get_parser("parse_log_jest")
