"""Aider's prompt texts, read at run time from the official `aider-chat` source distribution.

The texts are Aider's (Apache-2.0); we never copy them into our code. pip downloads
the sdist of `aider-chat==AIDER_VERSION` (no dependencies, never installed: it pins
half of PyPI) into the cache once, and the string literals are read out of its
Python files with `ast` - nothing from it is imported or run. The sdist is used
rather than the wheel because only it holds `benchmark/prompts.py` (the polyglot
addendum and the test-failure text). `AGENTFORGE_AIDER_SDIST` may name a local copy.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agentforge.runtime.cache import cache_dir

AIDER_VERSION = "0.86.1"
SDIST_ENV = "AGENTFORGE_AIDER_SDIST"
FILES = ("aider/coders/base_prompts.py", "aider/coders/wholefile_prompts.py", "aider/coders/editblock_prompts.py",
         "aider/coders/shell.py", "aider/coders/base_coder.py", "benchmark/prompts.py")
FORMAT_CLASSES = {"whole": ("wholefile_prompts.py", "WholeFilePrompts"),
                  "diff": ("editblock_prompts.py", "EditBlockPrompts")}


class AiderTextsError(RuntimeError):
    pass


@dataclass(frozen=True)
class FormatTexts:
    """One edit format's texts (still with Aider's {fence}, {final_reminders}, ... fields)."""

    main_system: str
    system_reminder: str
    example_messages: tuple[tuple[str, str], ...]  # (role, content)
    go_ahead_tip: str
    no_shell_cmd_prompt: str
    no_shell_cmd_reminder: str


@dataclass(frozen=True)
class AiderTexts:
    formats: dict[str, FormatTexts]
    files_content_prefix: str
    files_content_assistant_reply: str
    edits_applied: str  # "I updated the files." (files_content_gpt_edits_no_repo)
    new_code_base: str  # the user turn that closes the one-shot examples
    instructions_addendum: str  # the benchmark's, with {file_list}
    test_failures: str  # the benchmark's, with {file_list}
    version: str = AIDER_VERSION


def source_dir() -> Path:
    """The extracted files of the aider-chat sdist (downloaded on first use)."""
    root = cache_dir("aider", f"aider-chat-{AIDER_VERSION}")
    if all((root / f).is_file() for f in FILES):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".download-") as tmp:
        sdist = Path(os.environ[SDIST_ENV]) if os.environ.get(SDIST_ENV) else _download(Path(tmp))
        staging = Path(tmp) / "files"
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                rel = member.name.split("/", 1)[-1]
                if rel in FILES and member.isfile():
                    (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                    (staging / rel).write_bytes(archive.extractfile(member).read())
        if not all((staging / f).is_file() for f in FILES):
            raise AiderTextsError(f"{sdist} lacks some of {', '.join(FILES)}: is it aider-chat {AIDER_VERSION}'s sdist?")
        try:
            os.replace(staging, root)
        except OSError:
            if not all((root / f).is_file() for f in FILES):
                raise
    return root


def _download(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"aider-chat=={AIDER_VERSION}", "-d", str(folder), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    found = sorted(folder.glob(f"aider_chat-{AIDER_VERSION}.tar.gz"))
    if done.returncode != 0 or not found:
        raise AiderTextsError(f"could not download aider-chat {AIDER_VERSION}'s sdist (its prompt texts): "
                              f"{done.stderr.strip()[-800:]}\nSet {SDIST_ENV} to a local copy of "
                              f"aider_chat-{AIDER_VERSION}.tar.gz on a machine without a package index.")
    return found[0]


def _strings(tree: ast.Module, scope: str | None = None, shell: dict | None = None) -> dict[str, object]:
    """Module-level (or class `scope`'s) assignments of string literals, of lists of
    dict(role=..., content=...) literals and of `shell.NAME` (from `shell`), by name;
    other assignments are skipped."""
    body = tree.body
    if scope is not None:
        body = next(n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == scope)
    found: dict[str, object] = {}
    for node in body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found[name] = value.value
        elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "shell":
            found[name] = (shell or {})[value.attr]
        elif isinstance(value, ast.List):
            try:
                found[name] = tuple((_kw(d, "role"), _kw(d, "content")) for d in value.elts)
            except (AttributeError, StopIteration, ValueError):
                pass
    return found


def _kw(call: ast.expr, key: str) -> str:
    value = next(k.value for k in call.keywords if k.arg == key)  # type: ignore[attr-defined]
    return ast.literal_eval(value)


def _literal_starting(tree: ast.Module, start: str) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(start):
            return node.value
    raise AiderTextsError(f"aider-chat {AIDER_VERSION}: no text starting {start!r} in base_coder.py")


@lru_cache(maxsize=1)
def aider_texts() -> AiderTexts:
    root = source_dir()
    parse = lambda rel: ast.parse((root / rel).read_text())  # noqa: E731
    base = _strings(parse("aider/coders/base_prompts.py"), "CoderPrompts")
    shell = _strings(parse("aider/coders/shell.py"))
    bench = _strings(parse("benchmark/prompts.py"))
    formats = {}
    for name, (module, cls) in FORMAT_CLASSES.items():
        own = {**base, **_strings(parse(f"aider/coders/{module}"), cls, shell)}
        formats[name] = FormatTexts(main_system=own["main_system"], system_reminder=own["system_reminder"],
                                    example_messages=own.get("example_messages", ()),
                                    go_ahead_tip=own.get("go_ahead_tip", ""),
                                    no_shell_cmd_prompt=own.get("no_shell_cmd_prompt", ""),
                                    no_shell_cmd_reminder=own.get("no_shell_cmd_reminder", ""))
    return AiderTexts(formats=formats, files_content_prefix=base["files_content_prefix"],
                      files_content_assistant_reply=base["files_content_assistant_reply"],
                      edits_applied=base["files_content_gpt_edits_no_repo"],
                      new_code_base=_literal_starting(parse("aider/coders/base_coder.py"), "I switched to a new code"),
                      instructions_addendum=bench["instructions_addendum"], test_failures=bench["test_failures"])
