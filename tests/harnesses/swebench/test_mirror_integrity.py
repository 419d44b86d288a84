"""A candidate must not be able to change what later candidates are graded on.

The attack (found by an adversarial review): clones of the local mirror were
hard-linked, so an object file in a candidate's checkout was the mirror's own
file. Root in the sandbox can chmod it and write new content into it (same
inode), and every later checkout of that commit, grading included, carries the
change: an empty patch graded "not resolved", one agent candidate ran, and the
same empty patch then graded RESOLVED.

The candidate here runs in the `local` sandbox, which is what root in bwrap or
docker can do to its workspace (they differ only in what else it can reach); the
model is a scripted test double, since no real model attacks on cue.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from agentforge.harnesses.journal import Journal
from agentforge.harnesses.swebench.bench import SweConfig, run_swebench
from agentforge.harnesses.swebench.evaluate import evaluate
from agentforge.harnesses.swebench.repos import RepoCorrupted, RepoSource

from .tiny_repo import CALC, git, make_instance, poisoning_agent

FIXED = CALC.replace("a - b", "a + b")


def object_file(repo: Path, spec: str) -> Path:
    oid = git(repo, "rev-parse", spec).strip()
    return repo / ".git" / "objects" / oid[:2] / oid[2:]


def overwrite_in_place(path: Path, text: str) -> None:
    """What root can do to a read-only object file: chmod it and write through the same inode."""
    os.chmod(path, 0o644)
    data = text.encode()
    with open(path, "wb") as f:  # O_TRUNC keeps the inode, so every hard link sees the new bytes
        f.write(zlib.compress(b"blob %d\0" % len(data) + data))


async def test_a_candidate_that_overwrites_its_object_files_changes_neither_the_mirror_nor_later_grades(tmp_path):
    from tests.fakes.scripted_backend import ScriptedBackend

    instance, mirror = make_instance(tmp_path / "data", instance_id="acme__calc-0")
    repos = RepoSource(mirror=mirror)
    mirror_object = object_file(mirror / "acme__calc", "HEAD:calc.py")
    pristine = mirror_object.read_bytes()
    before = await evaluate(instance, "", kind="local", repos=repos)
    assert not before.resolved and before.error is None

    instances = tmp_path / "instances.jsonl"
    instances.write_text(instance.model_dump_json() + "\n")
    seen: list[str] = []
    config = SweConfig(instances=str(instances), source="agent", model="scripted", repos=str(mirror),
                       sandbox="local", max_steps=3)
    await run_swebench(config, tmp_path / "run", backend=ScriptedBackend(poisoning_agent(seen)), progress=False)
    # The attack worked inside the candidate's own checkout ...
    assert seen and "HEAD:calc.py now reads:     return a + b" in seen[0], seen
    record = Journal(tmp_path / "run" / "journal.jsonl").load()[("acme__calc-0", 0)]
    # ... but the mirror still holds the original object, so nothing graded after it moved.
    assert mirror_object.read_bytes() == pristine
    assert git(mirror / "acme__calc", "cat-file", "-p", "HEAD:calc.py") == CALC
    assert record.status == "ok" and record.correct is False and record.output == ""
    after = await evaluate(instance, "", kind="local", repos=repos)
    assert not after.resolved and after.error is None
    assert after.grade.f2p_failed == ["tests/test_calc.py::test_add"]


async def test_a_checkout_shares_no_file_with_the_mirror(tmp_path):
    instance, mirror = make_instance(tmp_path)
    dest = await RepoSource(mirror=mirror).checkout(instance.repo, instance.base_commit, tmp_path / "co")
    mirror_inodes = {p.stat().st_ino for p in (mirror / "acme__calc" / ".git" / "objects").rglob("*") if p.is_file()}
    checkout_files = [p for p in (dest / ".git" / "objects").rglob("*") if p.is_file()]
    assert checkout_files and not mirror_inodes & {p.stat().st_ino for p in checkout_files}


async def test_a_mirror_altered_earlier_is_refused_not_graded(tmp_path):
    """A mirror poisoned before this fix (or damaged otherwise): the empty patch must not resolve."""
    instance, mirror = make_instance(tmp_path / "data", instance_id="acme__calc-0")
    overwrite_in_place(object_file(mirror / "acme__calc", "HEAD:calc.py"), FIXED)
    with pytest.raises(RepoCorrupted, match=r"object [0-9a-f]{40} \(blob\) hashes to [0-9a-f]{40}.*clone that "
                                            r"repository into the mirror again"):
        await evaluate(instance, "", kind="local", repos=RepoSource(mirror=mirror))

    instances = tmp_path / "instances.jsonl"
    instances.write_text(instance.model_dump_json() + "\n")
    config = SweConfig(instances=str(instances), source="empty", repos=str(mirror), sandbox="local")
    _, summary = await run_swebench(config, tmp_path / "run", progress=False)
    record = Journal(tmp_path / "run" / "journal.jsonl").load()[("acme__calc-0", 0)]
    assert record.status == "error" and record.correct is None and "RepoCorrupted" in record.error
    assert summary["unscored_candidates"] == 1 and summary["graded_candidates"] == 0


async def test_an_altered_tree_object_is_caught_too(tmp_path):
    instance, mirror = make_instance(tmp_path)
    repo = mirror / "acme__calc"
    tree = object_file(repo, "HEAD:tests")
    raw = zlib.decompress(tree.read_bytes())
    os.chmod(tree, 0o644)
    tree.write_bytes(zlib.compress(raw.replace(b"test_calc.py", b"test_calx.py")))
    with pytest.raises(RepoCorrupted, match=r"\(tree\)"):
        await RepoSource(mirror=mirror).checkout(instance.repo, instance.base_commit, tmp_path / "co")
