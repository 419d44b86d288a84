"""Problem statements for synthesized bugs: what a user would report, never the fix.

Without a teacher the statement is written from the test run alone: which
tests fail, and the assertion/exception lines pytest printed for them (its
`E ` lines, which hold messages, not source code), plus the module involved.
With a teacher model, the model sees the bug's diff and the failing output and
is asked for a GitHub-issue-style report; a report that quotes a changed line
of the diff is thrown away in favour of the written one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from agentforge.harnesses.swebench.log_parsers import test_output

MAX_LISTED = 20  # failing tests named in a statement
MAX_DETAILED = 4  # failing tests whose error lines are shown
MAX_ERROR_LINES = 8
MAX_LINE = 200

_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_ANY_RULE = re.compile(r"^=+( .* )?=+$")
_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
_LOCATION = re.compile(r"^(\S+\.py):(\d+): (\w[\w.]*)$")


@dataclass
class Failure:
    headline: str  # as pytest titles it: `TestA.test_b[1]`, `ERROR at setup of test_c`
    errors: list[str]  # the `E ` lines, prefix and indentation removed
    location: str | None  # `path.py` of the last traceback entry, if pytest printed one
    exception: str | None  # `KeyError`, `AssertionError`, ...


def headline(test_id: str) -> str:
    """The title pytest gives a test's failure section: `tests/t.py::A::test_b[1]` -> `A.test_b[1]`."""
    parts = test_id.split("::")[1:]
    return ".".join(parts) if parts else test_id


def find_failure(sections: dict[str, Failure], test_id: str) -> Failure | None:
    """The section of `test_id`. Parsed ids are cut at the first space (`test_x[a b]` -> `test_x[a`),
    so a cut id falls back to the one section whose title starts with it."""
    title = headline(test_id)
    if title in sections:
        return sections[title]
    if title.count("[") > title.count("]"):
        matches = [f for name, f in sections.items() if name.startswith(title + " ")]
        if len(matches) == 1:
            return matches[0]
    return None


def failure_sections(log: str) -> dict[str, Failure]:
    """headline -> Failure, from the FAILURES and ERRORS sections of a pytest log."""
    text = test_output(log) or log
    out: dict[str, Failure] = {}
    inside = False
    current: Failure | None = None
    for line in text.splitlines():
        if _SECTION.match(line):
            inside = True
            current = None
            continue
        if inside and _ANY_RULE.match(line):
            inside = False
            current = None
            continue
        if not inside:
            continue
        header = _HEADER.match(line)
        if header:
            current = Failure(header.group(1), [], None, None)
            out.setdefault(current.headline, current)
            continue
        if current is None:
            continue
        if line.startswith("E ") or line == "E":
            if len(current.errors) < MAX_ERROR_LINES * 4:
                current.errors.append(line[1:].strip())
            continue
        location = _LOCATION.match(line)
        if location:
            current.location, current.exception = location.group(1), location.group(3)
    return out


def changed_lines(diff: str) -> list[str]:
    """The stripped text of every added or removed line of a diff (long enough to mean something)."""
    lines = []
    for line in diff.splitlines():
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            text = line[1:].strip()
            if len(text) >= 8:
                lines.append(text)
    return lines


def leaks(text: str, diff: str) -> bool:
    """Whether `text` quotes any changed line of `diff`."""
    return any(line in text for line in changed_lines(diff))


def _pick(options: list[str], key: str) -> str:
    return options[int(hashlib.sha1(key.encode()).hexdigest(), 16) % len(options)]


_OPENINGS = [
    "Something in `{module}` appears to be broken: {count} of its tests {fail} on the current code.",
    "After the latest changes, {count} {tests} exercising `{module}` {fail}.",
    "I ran the test suite and got {count} {failures} in tests that cover `{module}`.",
]
_CLOSINGS = [
    "These tests passed before and are expected to pass. The tests are correct; the library code needs fixing.",
    "Expected: all of these tests pass. Please fix the behaviour in the library, not the tests.",
]


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def written_statement(key: str, module: str, fail_to_pass: list[str], log: str, diff: str = "") -> str:
    """A statement from the failing tests' names and error lines. `diff` only filters out quoted code."""
    sections = failure_sections(log)
    forbidden = changed_lines(diff)
    groups: dict[tuple[str, ...], list[str]] = {}  # the same error lines -> the tests that print them
    for test_id in fail_to_pass:
        failure = find_failure(sections, test_id)
        if failure is None:
            continue
        errors = [e for e in failure.errors if e and not any(f in e for f in forbidden)][:MAX_ERROR_LINES]
        if not errors and failure.exception:
            errors = [failure.exception]
        if errors:
            groups.setdefault(tuple(errors), []).append(test_id)
    details: list[str] = []
    first_error: str | None = None
    for errors, tests in list(groups.items())[:MAX_DETAILED]:
        if first_error is None:
            first_error = next((e for e in errors if re.match(r"^[\w.]+(Error|Exception|Warning)\b", e)), errors[0])
        named = ", ".join(tests[:3]) + (f" (and {len(tests) - 3} more)" if len(tests) > 3 else "")
        details.append(f"{named}\n" + "\n".join(f"    {_clip(e)}" for e in errors))
    count = len(fail_to_pass)
    summary = _clip(first_error)[:100] if first_error else "tests fail"
    title = f"`{module}`: {summary}"
    parts = [title, "", _pick(_OPENINGS, key).format(
        module=module, count=count, fail="fails" if count == 1 else "fail", tests="test" if count == 1 else "tests",
        failures="failure" if count == 1 else "failures"), "", "Failing tests:", ""]
    parts += [f"- `{t}`" for t in fail_to_pass[:MAX_LISTED]]
    if count > MAX_LISTED:
        parts.append(f"- … and {count - MAX_LISTED} more")
    if details:
        parts += ["", "What pytest reports:", "", "```"]
        parts += "\n\n".join(details).splitlines()
        parts += ["```"]
    parts += ["", _pick(_CLOSINGS, key)]
    return "\n".join(parts) + "\n"


TEACHER_SYSTEM = (
    "You write realistic GitHub issues for Python libraries. You are shown a change that introduced a bug and "
    "the output of the tests that now fail. Write the issue a user of the library would file after running "
    "into the bug: a one-line title, then what they did, what they expected and what happened instead, "
    "ideally with a short reproduction that uses the library's public API. Never reveal or hint at the fix: "
    "do not quote the diff, do not mention line numbers, operators or statements that changed, and do not "
    "say how to repair it. Reply with the issue text only, in Markdown."
)

MAX_PROMPT_LOG = 6000


def teacher_messages(module: str, bug_diff: str, fail_to_pass: list[str], log: str) -> list[dict]:
    sections = failure_sections(log)
    shown = []
    for test_id in fail_to_pass[:MAX_DETAILED]:
        failure = find_failure(sections, test_id)
        if failure:
            shown.append(f"{test_id}\n" + "\n".join(f"E  {e}" for e in failure.errors[:MAX_ERROR_LINES]))
    output = "\n\n".join(shown)[:MAX_PROMPT_LOG] or "(no error lines captured)"
    user = (
        f"Module: `{module}`\n\n"
        f"The change that introduced the bug (never reveal it):\n```diff\n{bug_diff.strip()}\n```\n\n"
        f"Failing tests ({len(fail_to_pass)}): " + ", ".join(f"`{t}`" for t in fail_to_pass[:MAX_LISTED]) +
        f"\n\nTest output:\n```\n{output}\n```\n\nWrite the issue."
    )
    return [{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": user}]


async def teacher_statement(backend, module: str, bug_diff: str, fail_to_pass: list[str], log: str,
                            sampling=None) -> str | None:
    """The teacher's issue text, or None when it is empty or quotes the diff."""
    from agentforge.runtime.messages import Message, Sampling

    messages = [Message(**m) for m in teacher_messages(module, bug_diff, fail_to_pass, log)]
    sampling = sampling or Sampling(temperature=0.7, top_p=0.95, max_tokens=1024)
    completions = await backend.complete(messages, None, 1, sampling)
    if not completions:
        return None
    completion = completions[0]
    text = (completion.content if completion.content is not None else completion.text or "").strip()
    text = re.sub(r"^<think>.*?</think>\s*", "", text, flags=re.S)
    if not text or leaks(text, bug_diff):
        return None
    return text + "\n"
