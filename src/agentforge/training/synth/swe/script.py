"""The replies of a scripted fix, in the code agent's text format, planned from an instance's gold patch.

    turns = plan_fix(instance, read_file)   # read_file(path) -> the file at base_commit; turn.text, turn.expect

Each reply is what a careful engineer would write in the agent's own format
(a THOUGHT, then exactly one ```bash block): run a failing test, view the
function around the bug, `str_replace_editor str_replace`
each hunk of the gold patch, run the failing tests' files again, submit.
The observations are not planned here: the replies are played through the
real agent loop in a sandbox (`trajectories.py`), which records what the
commands really printed.

The edits are checked against the buggy file before anything runs: every
`old_str` must occur exactly once where it is applied (the editor's rule),
and applying them all must give the gold patch's post-image. A patch this
cannot express (new, deleted or renamed files) raises `ScriptError`.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from typing import Callable

from agentforge.runtime.coding.actions import EDITOR_NAME, SUBMIT_SENTINEL, parse_action

PYTEST = "python -m pytest -q -p no:cacheprovider"  # no .pytest_cache left in the patch
VIEW_LINES = 16  # the most lines one view shows (training sequences are short)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")

# Why a line of each mutation kind is wrong, said as someone who only reads the code would say it.
WHY = {
    "flip_comparison": "the comparison is the wrong way round",
    "shift_boundary": "the boundary is off: the comparison should be {strict}",
    "swap_operator": "it uses the wrong operator",
    "swap_boolean": "`and` and `or` are mixed up",
    "off_by_one": "a number is off by one",
    "swap_arguments": "the arguments are passed in the wrong order",
    "remove_statement": "a statement is missing",
    "remove_branch": "a branch of the logic is missing",
    "flip_constant": "the boolean constant is the wrong one",
    "negate_condition": "the condition is negated",
}


class ScriptError(ValueError):
    """The gold patch cannot be replayed as editor commands (the instance is skipped)."""


@dataclass
class Hunk:
    old_start: int  # 1-based line of the hunk in the old file
    lines: list[str]  # the hunk body: ' ', '-' and '+' lines with their prefix

    @property
    def old(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "-")]

    @property
    def new(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "+")]


@dataclass
class FilePatch:
    path: str
    hunks: list[Hunk] = field(default_factory=list)


def parse_patch(patch: str) -> list[FilePatch]:
    """The files and hunks of a unified git diff that only modifies existing text files."""
    files: list[FilePatch] = []
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            files.append(FilePatch(path=""))
        elif line.startswith(("new file mode", "deleted file mode", "rename from", "Binary files", "GIT binary")):
            raise ScriptError(f"the patch does more than modify files ({line.split(' ')[0]} ...)")
        elif line.startswith("--- ") and files and not files[-1].hunks:
            continue
        elif line.startswith("+++ ") and files and not files[-1].hunks:
            target = line[4:].split("\t", 1)[0]
            files[-1].path = target[2:] if target.startswith("b/") else target
        elif (match := _HUNK.match(line)) and files:
            files[-1].hunks.append(Hunk(old_start=int(match.group(1)), lines=[]))
        elif files and files[-1].hunks and line[:1] in (" ", "-", "+"):
            files[-1].hunks[-1].lines.append(line)
        elif files and files[-1].hunks and line == "":
            files[-1].hunks[-1].lines.append(" ")  # an empty context line whose space was stripped
    files = [f for f in files if f.hunks]
    if not files or any(not f.path for f in files):
        raise ScriptError("the patch has no hunks to replay")
    return files


@dataclass
class Edit:
    path: str
    old: str
    new: str
    first_line: int  # 1-based line where `old` starts in the file at the time of the edit
    removed: list[str]  # the lines the gold patch removes / adds, for the THOUGHT
    added: list[str]


def plan_edits(files: list[FilePatch], read_file: Callable[[str], str]) -> list[Edit]:
    """One str_replace per group of changed lines, its old_str as short as the exactly-once rule allows."""
    edits = []
    for fp in files:
        text = read_file(fp.path)
        shift = 0  # lines added so far in this file (edits are applied top to bottom)
        for hunk in fp.hunks:
            lines = hunk.old  # the hunk's lines as the file has them now (earlier groups applied)
            offset = 0  # lines added by the earlier groups of this hunk
            for at, removed, added in _groups(hunk):
                at += offset
                # grow the old_str by the hunk's context, alternately above and below, until it occurs once
                # (a deletion keeps one line of context too, or the removed lines would leave blank lines)
                start, end, grow_before = at, at + len(removed), True
                while not (start < end and (added or end - start > len(removed))
                           and _occurs_once(text, "\n".join(lines[start:end]))):
                    if start == 0 and end == len(lines):
                        raise ScriptError(f"no part of a hunk of {fp.path} occurs exactly once in the file")
                    if start > 0 and (grow_before or end == len(lines)):
                        start -= 1
                    else:
                        end += 1
                    grow_before = not grow_before
                old_str = "\n".join(lines[start:end])
                new_str = "\n".join(lines[start:at] + added + lines[at + len(removed):end])
                line = hunk.old_start + shift + start
                index = text.index(old_str)
                if text[:index].count("\n") + 1 != line:
                    raise ScriptError(f"a hunk of {fp.path} does not match the file at line {hunk.old_start}")
                text = text[:index] + new_str + text[index + len(old_str):]
                edits.append(Edit(path=fp.path, old=old_str, new=new_str, first_line=line, removed=removed,
                                  added=added))
                lines = lines[:at] + added + lines[at + len(removed):]
                offset += len(added) - len(removed)
            shift += offset
    return edits


def _groups(hunk: Hunk) -> list[tuple[int, list[str], list[str]]]:
    """The runs of changed lines of a hunk: (index in the hunk's old lines, removed lines, added lines)."""
    groups: list[tuple[int, list[str], list[str]]] = []
    at, in_group = 0, False
    for line in hunk.lines:
        if line[:1] == " ":
            at, in_group = at + 1, False
            continue
        if not in_group:
            groups.append((at, [], []))
            in_group = True
        if line[:1] == "-":
            groups[-1][1].append(line[1:])
            at += 1
        else:
            groups[-1][2].append(line[1:])
    return groups


def _occurs_once(text: str, needle: str) -> bool:
    """Exactly one occurrence, overlapping ones counted (the editor's rule)."""
    first = text.find(needle)
    return first >= 0 and text.find(needle, first + 1) < 0


# ---------------------------------------------------------------- the replies

_COUNTS = re.compile(r"\b(\d+) (passed|failed|errors?)\b")


@dataclass
class Turn:
    """One scripted reply, and what its observation must show for the script to go on."""

    text: str
    expect: str | None = None  # fails | ok | passes | None (anything)

    def check(self, observation: str) -> str | None:
        """Why `observation` is not what this turn expected (None: it is)."""
        counts = {kind.rstrip("s"): int(n) for n, kind in _COUNTS.findall(observation)}
        if self.expect == "fails" and not (counts.get("failed") or counts.get("error")):
            return "the failing test did not fail"
        if self.expect == "ok" and not observation.startswith("<returncode>0</returncode>"):
            return "the command failed"
        if self.expect == "passes" and (not counts.get("passed") or counts.get("failed") or counts.get("error")):
            return "the tests did not all pass after the fix"
        return None


def reply(thought: str, command: str) -> str:
    """One turn in the agent's text format; checked with the agent's own parser."""
    text = f"THOUGHT: {thought}\n\n```bash\n{command}\n```"
    action = parse_action(text)
    if action.command is None or action.error:
        raise ScriptError(f"the scripted reply does not parse: {action.error}")
    return text


def editor_command(sub: str, path: str, **flags: object) -> str:
    parts = [EDITOR_NAME, sub, shlex.quote(path)]
    for flag, value in flags.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        parts.append(f"--{flag} " + " ".join(shlex.quote(str(v)) for v in values))
    return " ".join(parts)


def plan_fix(instance, read_file: Callable[[str], str]) -> list[Turn]:
    """The turns that fix `instance` (an Instance with FAIL_TO_PASS and a gold patch)."""
    if not instance.FAIL_TO_PASS:
        raise ScriptError(f"{instance.instance_id} has no FAIL_TO_PASS test to look at")
    files = parse_patch(instance.patch)
    edits = plan_edits(files, read_file)
    pick = _chooser(instance.instance_id)
    mutation = getattr(instance, "mutation", None) or {}
    # a test id pytest can select: parametrized ids cut at a space by the log parser are not
    test = next((t for t in instance.FAIL_TO_PASS if t.count("[") == t.count("]")), None)
    if test is None:
        raise ScriptError(f"{instance.instance_id}: no FAIL_TO_PASS id that pytest can select")
    turns = [Turn(reply(
        pick(f"The issue lists failing tests. I will run one of them, {test}, to see the error.",
             f"First I want to see the failure myself, so I run {test}.",
             f"Let me reproduce the problem by running the failing test {test}."),
        f"{PYTEST} --tb=short {shlex.quote(test)} 2>&1 | tail -n 15"), expect="fails")]

    first = edits[0]
    lines = read_file(first.path).splitlines()
    name, def_line = _enclosing_def(lines, first.first_line)
    last_changed = first.first_line + first.old.count("\n")
    start = max(def_line if name else 1, first.first_line - 6)  # the change with a little context above
    end = min(len(lines), max(last_changed + 3, start + 6), start + VIEW_LINES - 1)
    where = f"`{mutation.get('function') or name}` in {first.path}" if name else first.path
    turns.append(Turn(reply(
        pick(f"Judging from the error, the bug is likely in {where}. Let me read lines {start}-{end}.",
             f"The failing behaviour goes through {where}. I view lines {start}-{end}.",
             f"The error points to {where}; I look at lines {start} to {end}."),
        editor_command("view", first.path, view_range=[start, end])), expect="ok"))

    for i, edit in enumerate(edits):
        why = _why(mutation.get("kind"), edit)
        if edit.removed and edit.added and len(edit.removed) == len(edit.added) == 1:
            what = f"`{edit.removed[0].strip()}` is wrong: {why}. It should be `{edit.added[0].strip()}`."
        elif edit.added and not edit.removed:
            what = f"{why[:1].upper() + why[1:]}: the code needs `{edit.added[0].strip()}` here."
        else:
            what = f"This part is wrong: {why}."
        lead = "" if i == 0 else "One more place to fix. "
        turns.append(Turn(reply(lead + what + pick(" I fix it with str_replace.", " Let me fix it.", " I change it."),
                                editor_command("str_replace", edit.path, old_str=edit.old, new_str=edit.new)),
                          expect="ok"))

    test_files = sorted(dict.fromkeys(t.split("::", 1)[0] for t in instance.FAIL_TO_PASS))
    turns.append(Turn(reply(
        pick("Now I run the failing tests' files again to check the fix and that nothing else broke.",
             "Let me rerun the test files of the failing tests.",
             "The fix is in; I run those test files again."),
        f"{PYTEST} {' '.join(shlex.quote(f) for f in test_files)} 2>&1 | tail -n 3"), expect="passes"))
    changed = ", ".join(sorted({e.path for e in edits}))
    turns.append(Turn(reply(
        pick(f"The tests pass now and I changed only {changed}. I submit.",
             f"All of those tests pass, and the only change is in {changed}. Submitting.",
             f"The fix works and touches nothing but {changed}, so I submit."),
        f"echo {SUBMIT_SENTINEL}")))
    return turns


def _why(kind: str | None, edit: Edit) -> str:
    why = WHY.get(kind or "", "it does not do what the tests expect")
    if "{strict}" in why:
        new = " ".join(edit.added)
        why = why.format(strict="inclusive" if ("<=" in new or ">=" in new) else "strict")
    return why


def _enclosing_def(lines: list[str], line: int) -> tuple[str | None, int]:
    """The nearest `def`/`class` at or above `line` whose indentation encloses it (name, its 1-based line)."""
    if line - 1 >= len(lines):
        return None, line
    target_indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
    for i in range(min(line, len(lines)) - 1, -1, -1):
        match = _DEF.match(lines[i])
        if match and (len(lines[i]) - len(lines[i].lstrip()) < target_indent or i == line - 1):
            return match.group(1), i + 1
    return None, line


def _chooser(key: str) -> Callable[..., str]:
    """Picks one phrasing per call, deterministically from the instance id (variety across instances)."""
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    calls = [0]

    def pick(*options: str) -> str:
        calls[0] += 1
        return options[(seed + 7 * calls[0]) % len(options)]

    return pick
