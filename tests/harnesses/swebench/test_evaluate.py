"""Official-style evaluation on a real tiny repository, in every sandbox backend."""

from __future__ import annotations

import pytest

from agentforge.harnesses.swebench.evaluate import Unrunnable, evaluate
from agentforge.harnesses.swebench.repos import RepoSource, RepoUnavailable

from .tiny_repo import CALC, diff_of, make_instance

KINDS = ["bwrap", pytest.param("docker", marks=pytest.mark.docker), "local"]


@pytest.mark.parametrize("kind", KINDS)
async def test_gold_resolves_and_empty_does_not(tmp_path, kind):
    instance, mirror = make_instance(tmp_path)
    repos = RepoSource(mirror=mirror)
    gold = await evaluate(instance, instance.patch, kind=kind, repos=repos)
    assert gold.resolved, gold.log[-2000:]
    assert gold.applied == "git apply --verbose"
    assert gold.grade.f2p_passed == ["tests/test_calc.py::test_add"]
    empty = await evaluate(instance, "", kind=kind, repos=repos)
    assert not empty.resolved and empty.empty_patch and empty.error is None
    assert empty.grade.f2p_failed == ["tests/test_calc.py::test_add"]
    assert empty.grade.p2p_passed == ["tests/test_calc.py::test_mul"]


async def test_patch_that_breaks_pass_to_pass_is_not_resolved(tmp_path):
    instance, mirror = make_instance(tmp_path)
    fixed_add_broken_mul = CALC.replace("a - b", "a + b").replace("a * b", "0")
    bad = diff_of(mirror / "acme__calc", "calc.py", fixed_add_broken_mul)
    result = await evaluate(instance, bad, repos=RepoSource(mirror=mirror), kind="bwrap")
    assert not result.resolved
    assert result.grade.f2p_passed == ["tests/test_calc.py::test_add"]
    assert result.grade.p2p_failed == ["tests/test_calc.py::test_mul"]


async def test_patch_with_shifted_context_falls_back_to_fuzz(tmp_path):
    instance, mirror = make_instance(tmp_path)
    # Wrong line numbers and one wrong context line: git apply refuses, `patch --fuzz=5` applies it.
    shifted = instance.patch.replace("@@ -1,5 +1,5 @@", "@@ -3,5 +3,5 @@").replace(" def mul(a, b):", " def mul(x, y):")
    result = await evaluate(instance, shifted, repos=RepoSource(mirror=mirror), kind="bwrap")
    assert result.applied == "patch --batch --forward --fuzz=5 -p1 -i", result.log[:3000]
    assert result.resolved


async def test_garbage_patch_reports_apply_failure(tmp_path):
    instance, mirror = make_instance(tmp_path)
    result = await evaluate(instance, "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n",
                            repos=RepoSource(mirror=mirror), kind="bwrap")
    assert not result.resolved and result.error == "the patch did not apply"


async def test_missing_repository_says_what_to_do(tmp_path):
    instance, _ = make_instance(tmp_path)
    with pytest.raises(RepoUnavailable, match="--repos DIR"):
        await evaluate(instance, instance.patch, repos=RepoSource(mirror=tmp_path / "nowhere"), kind="bwrap")


async def test_eval_timeout_is_a_clean_unresolved(tmp_path):
    instance, mirror = make_instance(tmp_path)
    slow = instance.patch.replace("+    return a + b", "+    import time; time.sleep(30); return a + b")
    result = await evaluate(instance, slow, repos=RepoSource(mirror=mirror), kind="bwrap", timeout=3)
    assert not result.resolved and "timed out" in result.error


def verified_row():
    from agentforge.harnesses.swebench.instances import load_instances
    from tests.shared_data import shared_data

    return load_instances(shared_data("swebench_verified.jsonl"), limit=1)[0]


async def test_official_rows_need_their_docker_image():
    row = verified_row()
    assert row.environment is None and row.eval_script
    with pytest.raises(Unrunnable, match="official docker image"):
        await evaluate(row, row.patch, kind="bwrap")


def test_the_image_is_the_rows_image_field_as_swebench_5_0_2_takes_it():
    # swebench 5.0.2's make_test_spec uses instance["image"] verbatim; the Verified rows hold
    # names like "amd64.astropy__astropy-12907:latest" (no namespace), which we once replaced.
    row = verified_row()
    assert row.image == "amd64.astropy__astropy-12907:latest"
    assert row.official_image() == row.image
    assert row.model_copy(update={"image": "ghcr.io/me/sweb:1"}).official_image() == "ghcr.io/me/sweb:1"
    # Older rows without the field: the name the image builder publishes.
    assert row.model_copy(update={"image": None}).official_image() == \
        "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest"


async def test_a_row_without_eval_script_cannot_be_graded():
    row = verified_row().model_copy(update={"eval_script": None})
    with pytest.raises(Unrunnable, match="no eval_script"):
        await evaluate(row, row.patch, kind="docker")


@pytest.mark.docker
async def test_official_image_that_cannot_be_pulled_says_so():
    # No registry is reachable from our machines: the error must say what to do.
    from agentforge.runtime.sandbox import SandboxError

    row = verified_row()
    with pytest.raises(SandboxError, match=r"docker image amd64\.astropy__astropy-12907:latest .*cannot be pulled"):
        await evaluate(row, row.patch, kind="docker")


async def test_many_concurrent_builds_of_one_environment_do_not_deadlock(tmp_path, monkeypatch):
    # More waiters than executor threads once hung (a blocking flock held a thread
    # the build needed). A fresh cache dir forces a real build.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from agentforge.harnesses.swebench.environment import EnvSpec, build_env

    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2))
    spec = EnvSpec(pip=[])
    handles = await asyncio.wait_for(
        asyncio.gather(*(build_env(spec, "bwrap", cache_dir=tmp_path) for _ in range(5))), 120)
    assert len({h.path for h in handles}) == 1 and (handles[0].path / ".complete").exists()
