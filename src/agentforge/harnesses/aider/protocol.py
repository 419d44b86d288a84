"""Aider's benchmark protocol for one exercise and one candidate (benchmark.py's run_test_real):

  try 1   the docs (introduction + instructions + instructions.append) + Aider's addendum
  try k   the full cleaned test output (or "Tests timed out!") + Aider's test-failure text
Inside a try, a reply whose edits cannot be read or applied gets the error back, up to
3 reflections (each counts a malformed response). The tests run after every try; a pass
stops. The result is Aider's `.aider.results.json` record.

After edits land, edited Python files are compiled and a syntax error is reflected too (Aider's
auto-lint, not a malformed response). Not reproduced (flagged in every report): Aider's flake8
and tree-sitter lints, and the chat-history summarization (Aider summarizes `done` past 1/16 of
the context window).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agentforge.harnesses.aider.aider_texts import AiderTexts
from agentforge.harnesses.aider.chat import Chat
from agentforge.harnesses.aider.data import Exercise, safe_target
from agentforge.harnesses.aider.edit_diff import apply_diff
from agentforge.harnesses.aider.edit_whole import EditFormatError, apply_whole
from agentforge.harnesses.aider.grading import GradedRun
from agentforge.runtime.backends.base import Backend, ContextLengthError
from agentforge.runtime.messages import Completion, Message, Sampling

MAX_REFLECTIONS = 3  # Aider's max_reflections
LAZY = re.compile(r"^[+]? *[#].* [.][.][.] ")  # Aider's lazy-comment pattern
APPLIERS = {"whole": apply_whole, "diff": apply_diff}

RunTests = Callable[[], "asyncio.Future[GradedRun]"]


@dataclass
class ProtocolOutcome:
    results: dict  # Aider's .aider.results.json fields
    files: dict[str, str]  # the solution files at the end
    completions: list[Completion] = field(default_factory=list)
    transcript: list[dict] = field(default_factory=list)  # every message sent and received, plus test runs


def python_lint(files: dict[str, str]) -> str | None:
    """Aider's auto-lint, for Python only (its compile step): the errors in the edited .py files, as
    a reflection, or None. Aider also lints with flake8's fatal codes and other languages with
    tree-sitter; neither is reproduced."""
    problems = []
    for name, content in files.items():
        if not name.endswith(".py"):
            continue
        try:
            compile(content, name, "exec")
        except (SyntaxError, ValueError) as e:
            where = f"{name}:{getattr(e, 'lineno', '?')}"
            problems.append(f"## {where}: {type(e).__name__}: {getattr(e, 'msg', e)}\n{(getattr(e, 'text', '') or '').rstrip()}")
    if not problems:
        return None
    return "# Fix any errors below, if possible.\n\n" + "\n\n".join(problems) + "\n"


def first_message(exercise: Exercise, texts: AiderTexts) -> str:
    docs = "".join(p.read_text() for p in exercise.docs())
    names = " ".join(Path(f).name for f in exercise.solution)
    return docs + texts.instructions_addendum.format(file_list=names)


def failure_message(run: GradedRun, exercise: Exercise, texts: AiderTexts) -> str:
    names = " ".join(Path(f).name for f in exercise.solution)
    head = "Tests timed out!" if run.timed_out else run.output
    return head + texts.test_failures.format(file_list=names)


class AiderProtocol:
    def __init__(self, exercise: Exercise, folder: Path, backend: Backend, texts: AiderTexts, edit_format: str,
                 sampling: Sampling, tries: int, run_tests: Callable):
        if edit_format not in APPLIERS:
            raise ValueError(f"unknown edit format {edit_format!r}; use whole or diff")
        self.exercise, self.folder, self.backend, self.texts = exercise, folder, backend, texts
        self.edit_format, self.sampling, self.tries, self.run_tests = edit_format, sampling, tries, run_tests
        self.chat = Chat(texts, edit_format)
        self.chat_files = list(exercise.solution)  # grows when the model creates a file
        self.outcome = ProtocolOutcome(results={}, files={})
        self.counts = dict(num_malformed_responses=0, num_error_outputs=0, num_user_asks=0,
                           num_exhausted_context_windows=0, lazy_comments=0, syntax_errors=0, indentation_errors=0,
                           test_timeouts=0, prompt_tokens=0, completion_tokens=0)

    def read_files(self) -> dict[str, str]:
        out = {}
        for name in self.chat_files:
            path = self.folder / name
            out[name] = path.read_text(errors="replace") if path.is_file() and not path.is_symlink() else ""
        return out

    def write_files(self, files: dict[str, str]) -> None:
        for name, content in files.items():
            if name.startswith("/") or ".." in Path(name).parts:
                raise EditFormatError(f"{name}: edit only files inside the exercise (relative paths)")
            safe_target(self.folder, name).write_text(content)
            if name not in self.chat_files:
                self.chat_files.append(name)

    async def run(self) -> ProtocolOutcome:
        started = time.monotonic()
        outcomes: list[bool] = []
        message = first_message(self.exercise, self.texts)
        for _ in range(self.tries):
            await self._one_try(message)
            run = await self.run_tests()
            self._count_test_output(run)
            outcomes.append(run.passed)
            self.outcome.transcript.append({"test_run": {"passed": run.passed, "timed_out": run.timed_out,
                                                         "seconds": round(run.seconds, 2), "output": run.output}})
            if run.passed:
                break
            message = failure_message(run, self.exercise, self.texts)
        self.outcome.files = self.read_files()
        self.outcome.results = dict(tests_outcomes=outcomes, duration=round(time.monotonic() - started, 2),
                                    cost=0.0, chat_hashes=[], **self.counts)
        return self.outcome

    async def _one_try(self, message: str) -> None:
        self.chat.current.append(Message.user(message))
        for _ in range(MAX_REFLECTIONS + 1):
            reply = await self._ask()
            if reply is None:
                break
            reflection, malformed = self._apply(reply)
            if reflection is None:
                return
            self.counts["num_malformed_responses"] += malformed
            self.chat.current.append(Message.user(reflection))
        self.chat.end_turn()

    async def _ask(self) -> str | None:
        files = self.read_files()
        messages = self.chat.messages(files)
        try:
            completions = await self.backend.complete(messages, None, 1, self.sampling)
        except ContextLengthError as e:  # Aider counts it and ends the try
            self.counts["num_exhausted_context_windows"] += 1
            self.outcome.transcript.append({"error": str(e)})
            return None
        completion = completions[0]
        self.outcome.completions.append(completion)
        self.counts["prompt_tokens"] += completion.usage.prompt_tokens
        self.counts["completion_tokens"] += completion.usage.completion_tokens
        reply = completion.content if completion.content is not None else completion.text
        self.counts["lazy_comments"] += sum(bool(LAZY.match(line)) for line in reply.splitlines())
        self.outcome.transcript.append({"messages_sent": len(messages), "reply": reply,
                                        "prompt": messages[-1].content})
        self.chat.current.append(Message(role="assistant", content=reply))
        return reply

    def _apply(self, reply: str) -> tuple[str | None, bool]:
        """Apply the reply's edits: (the reflection text or None when there is nothing to reflect on,
        whether the reply was malformed)."""
        files = self.read_files()
        fence = self.chat.fence(files)
        try:
            result = APPLIERS[self.edit_format](reply, files, fence)
            self.write_files(result.files)
        except EditFormatError as e:
            return str(e), True
        if result.errors:
            return (f"# {len(result.errors)} SEARCH/REPLACE block(s) failed to match!\n\n" + "\n".join(result.errors)
                    + "\nThe SEARCH section must exactly match an existing block of lines, including all white "
                    "space, comments, indentation, docstrings, etc.\n"
                    + (f"\n# The other {len(result.files)} file(s) were edited.\n" if result.files else "")), True
        if not result.files:
            self.chat.end_turn()
            return None, False
        self.chat.edits_applied()
        return python_lint(result.files), False

    def _count_test_output(self, run: GradedRun) -> None:
        self.counts["test_timeouts"] += run.timed_out
        lines = run.output.splitlines()
        self.counts["syntax_errors"] += sum(line.startswith("SyntaxError") for line in lines)
        self.counts["indentation_errors"] += sum(line.startswith("IndentationError") for line in lines)
