"""Agentic mode: the hidden files are physically absent from what the agent can read, and are
put back only for grading. The model is a test double (tests/fakes/scripted_backend.py): its
commands are chosen to look for the hidden files, which no real model would do on cue."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from agentforge.harnesses.aider.agentic import run_agentic
from agentforge.harnesses.aider.bench import AiderConfig
from agentforge.harnesses.aider.data import fresh_copy
from agentforge.runtime.coding.actions import SUBMIT_SENTINEL
from agentforge.runtime.messages import Sampling
from tests.fakes.scripted_backend import ScriptedBackend
from tests.harnesses.aider.conftest import exercise, require_toolchain


def test_the_agent_copy_has_no_tests_reference_docs_or_test_support(tmp_path):
    for language, slug, kept in [("python", "bowling", "bowling.py"), ("cpp", "all-your-base", "CMakeLists.txt"),
                                 ("go", "alphametics", "go.mod"), ("java", "bowling", "src/main/java/BowlingGame.java"),
                                 ("rust", "bowling", "src/lib.rs")]:
        ex = exercise(language, slug)
        folder = fresh_copy(ex, tmp_path / language / slug, agentic=True)
        present = {str(p.relative_to(folder)) for p in folder.rglob("*")}
        assert kept in present
        for hidden in [*ex.tests, ".meta", ".docs", *(e for e in ex.editor if e.endswith("_test.go"))]:
            assert hidden not in present, f"{language}/{slug}: {hidden} is in the agent's workspace"
        assert not any(p.startswith((".meta/", "test/", "tests/", "src/test/")) for p in present), present


async def test_the_agent_cannot_find_the_hidden_files_and_is_graded_on_them():
    require_toolchain("python")
    ex = exercise("python", "bowling")
    solution = (ex.path / ".meta" / "example.py").read_text()
    commands = [
        "find / -xdev \\( -name 'bowling_test.py' -o -name 'example.py' -o -name '.meta' \\) 2>/dev/null; "
        "ls -a /workspace/bowling",
        f"cat > /workspace/bowling/bowling.py <<'AGENTFORGE_END'\n{solution}AGENTFORGE_END",
        f"echo {SUBMIT_SENTINEL}",
    ]
    backend = ScriptedBackend(lambda messages, tools, i: (
        f"THOUGHT: step.\n\n```bash\n{commands[sum(m.role == 'assistant' for m in messages)]}\n```", []))
    config = AiderConfig(sandbox="auto", max_steps=5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = fresh_copy(ex, root / ex.slug, agentic=True)
        results, files, transcript, _ = await run_agentic(ex, folder, root, backend, config, Sampling(),
                                                          asyncio.Semaphore(1))
    first_observation = next(m["content"] for m in transcript if m.get("role") == "user"
                             and "<returncode>" in (m.get("content") or ""))
    assert "bowling.py" in first_observation  # the listing ran
    assert "bowling_test.py" not in first_observation and "example.py" not in first_observation
    assert ".meta" not in first_observation
    assert results["tests_outcomes"] == [True], transcript[-1]
    assert results["agent_status"] == "submitted" and files["bowling.py"] == solution
