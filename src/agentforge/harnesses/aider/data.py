"""The Aider Polyglot exercises: where they are, which files are which, fresh copies.

The data is the export of Aider-AI/polyglot-benchmark (`../shared/data/polyglot-benchmark`,
its commit in the `.SOURCE` file next to it): `<lang>/exercises/practice/<slug>/`, each
with `.meta/config.json` naming the solution, test, example (reference), editor
(read-only helpers) and invalidator (build) files. The pristine tree is never
written; every attempt works on a fresh copy (`fresh_copy`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")
DATA_ENV = "AGENTFORGE_POLYGLOT_DATA"
# Never shown to the model (Aider's ignore set): build files, and everything in these folders.
HIDDEN_NAMES = ("CMakeLists.txt", "Cargo.toml")
HIDDEN_DIRS = (".meta", ".docs")
# Absent from the agent's workspace besides the test files: the reference, the docs
# (they are the prompt), cpp's write-ups of solution approaches, and test support
# (cpp's test/ with Catch2, any folder of tests).
AGENTIC_ABSENT_DIRS = (".meta", ".docs", ".approaches", "test", "tests", "src/test")


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Exercise:
    language: str
    slug: str
    path: Path  # the pristine exercise folder
    solution: tuple[str, ...]  # what the model edits, shown whole (ignore set removed)
    tests: tuple[str, ...]
    examples: tuple[str, ...]  # the reference solution, under .meta/
    editor: tuple[str, ...] = ()  # read-only helpers the tests use

    @property
    def id(self) -> str:
        return f"{self.language}/{self.slug}"

    def docs(self) -> list[Path]:
        """introduction, instructions, instructions.append - those that exist, in Aider's order."""
        names = ("introduction.md", "instructions.md", "instructions.append.md")
        return [p for p in (self.path / ".docs" / n for n in names) if p.is_file()]

    def hidden_from_agent(self) -> list[str]:
        """Paths (relative, files or folders) physically removed from the agent's workspace."""
        test_like = [e for e in self.editor if _is_test_file(e)]
        return sorted({*self.tests, *test_like, *(d for d in AGENTIC_ABSENT_DIRS if (self.path / d).exists())})


def _is_test_file(name: str) -> bool:
    base = os.path.basename(name)
    return base.endswith(("_test.go", "_test.py", ".spec.js", "Test.java")) or name.startswith(("test/", "tests/",
                                                                                                "src/test/"))


def default_data_dir() -> Path:
    """AGENTFORGE_POLYGLOT_DATA, else ../shared/data/polyglot-benchmark from the repository or the cwd."""
    given = os.environ.get(DATA_ENV)
    if given:
        return Path(given)
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        candidate = base.parent / "shared" / "data" / "polyglot-benchmark"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data" / "polyglot-benchmark"


def data_source(data_dir: Path) -> str:
    """The data's provenance line (repository and commit), from `<data_dir>.SOURCE`."""
    source = data_dir.parent / f"{data_dir.name}.SOURCE"
    if not source.is_file():
        return "unknown (no .SOURCE file next to the data)"
    return source.read_text().strip().split(" license:")[0]


def load_exercise(folder: Path, language: str) -> Exercise:
    config_path = folder / ".meta" / "config.json"
    try:
        files = json.loads(config_path.read_text())["files"]
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{config_path}: cannot read its `files` ({e}); is this a polyglot-benchmark exercise?")
    tests = tuple(files.get("test", ()))
    examples = tuple(files.get("example", ()))
    ignored = set(tests) | set(examples)
    solution = tuple(f for f in files.get("solution", ()) if f not in ignored and Path(f).name not in HIDDEN_NAMES
                     and not f.startswith(tuple(d + "/" for d in HIDDEN_DIRS)))
    return Exercise(language=language, slug=folder.name, path=folder, solution=solution, tests=tests,
                    examples=examples, editor=tuple(files.get("editor", ())))


def load_exercises(data_dir: Path, languages: list[str] | None = None, keywords: list[str] | None = None,
                   limit: int | None = None, num_tests: int | None = None, seed: int | None = None) -> list[Exercise]:
    """The exercises of `languages` (all by default) whose slug contains one of `keywords`,
    the first `limit` of each language (alphabetical); then, with `seed`, shuffled, and the first
    `num_tests` of all (Aider's --num-tests, with a seeded shuffle where Aider's is unseeded)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"no polyglot data at {data_dir}: pass --data DIR (a polyglot-benchmark checkout) "
                        f"or set {DATA_ENV}")
    chosen = list(languages or LANGUAGES)
    unknown = [lang for lang in chosen if lang not in LANGUAGES]
    if unknown:
        raise DataError(f"unknown language(s) {', '.join(unknown)}; choose from {', '.join(LANGUAGES)}")
    found: list[Exercise] = []
    for language in chosen:
        practice = data_dir / language / "exercises" / "practice"
        if not practice.is_dir():
            raise DataError(f"{practice} is missing: is {data_dir} a polyglot-benchmark checkout?")
        folders = sorted(p for p in practice.iterdir() if p.is_dir())
        if keywords:
            folders = [p for p in folders if any(k in p.name for k in keywords)]
        found += [load_exercise(p, language) for p in folders[:limit]]
    if seed is not None and num_tests is not None:
        random.Random(seed).shuffle(found)
    if num_tests is not None:
        found = found[:num_tests]
    if not found:
        raise DataError(f"no exercise matches languages={chosen} keywords={keywords}")
    return found


def fresh_copy(exercise: Exercise, dest: Path, agentic: bool = False) -> Path:
    """A copy of the pristine exercise at `dest`; with `agentic`, the tests, the reference and
    the other hidden files are not copied at all (see `Exercise.hidden_from_agent`)."""
    hidden = set(exercise.hidden_from_agent()) if agentic else set()

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = os.path.relpath(folder, exercise.path)
        prefix = "" if rel == "." else rel + "/"
        return {n for n in names if prefix + n in hidden}

    shutil.copytree(exercise.path, dest, ignore=ignore, symlinks=True)
    _make_writable(dest)  # the pristine tree may be read-only; copies keep its modes
    return dest


def _make_writable(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            if not os.path.islink(name):
                os.chmod(name, os.stat(name).st_mode | 0o200)


def restore_tests(exercise: Exercise, workspace: Path) -> None:
    """Copy every test and editor file fresh from the pristine tree (undoing any edit to them)."""
    for name in (*exercise.tests, *exercise.editor):
        source = exercise.path / name
        if source.is_file():
            shutil.copyfile(source, safe_target(workspace, name))


def restore_hidden(exercise: Exercise, workspace: Path) -> None:
    """Put back what the agent never had (tests, test support), for grading; its own files stay."""
    for name in exercise.hidden_from_agent():
        source = exercise.path / name
        if source.is_dir():
            target = safe_target(workspace, name, folder=True)
            shutil.copytree(source, target, dirs_exist_ok=True)
            _make_writable(target)
        elif source.is_file():
            shutil.copyfile(source, safe_target(workspace, name))


def safe_target(workspace: Path, name: str, folder: bool = False) -> Path:
    """`workspace/name`, made safe for the host to write: a symlink the model left on the way
    (which could point anywhere on the host) is removed, missing folders are made."""
    path = workspace
    parts = Path(name).parts
    for i, part in enumerate(parts):
        path = path / part
        if path.is_symlink():
            path.unlink()
        last = i == len(parts) - 1
        if not last or folder:
            if path.exists() and not path.is_dir():
                path.unlink()
            path.mkdir(exist_ok=True)
    return path


def apply_reference(exercise: Exercise, workspace: Path) -> list[str]:
    """Copy the reference solution over the stubs (the gold self-check); returns the files written.

    Java copies every file of `.meta/src/reference/java/` (some references have helper classes
    outside the solution list); Rust also takes `.meta/Cargo-example.toml` as Cargo.toml."""
    written: list[str] = []
    if exercise.language == "java":
        reference = exercise.path / ".meta" / "src" / "reference" / "java"
        for source in sorted(reference.rglob("*.java")):
            rel = Path("src/main/java") / source.relative_to(reference)
            (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, workspace / rel)
            written.append(str(rel))
        return written
    for example in exercise.examples:
        suffix = Path(example).suffix
        targets = [s for s in exercise.solution if Path(s).suffix == suffix]
        if len(targets) != 1:
            raise DataError(f"{exercise.id}: cannot tell which solution file {example} replaces ({targets})")
        shutil.copyfile(exercise.path / example, workspace / targets[0])
        written.append(targets[0])
    cargo_example = exercise.path / ".meta" / "Cargo-example.toml"
    if exercise.language == "rust" and cargo_example.is_file():
        shutil.copyfile(cargo_example, workspace / "Cargo.toml")
        written.append("Cargo.toml")
    return written
