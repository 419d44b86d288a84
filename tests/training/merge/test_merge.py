"""`agent train merge` on tiny checkpoints: each method's result on hand-computed numbers (the final
norm weight, set by hand in conftest) and on every tensor where the formula is simple, the output
as a servable checkpoint, and clear errors for inputs that cannot be merged."""

from __future__ import annotations

import json

import pytest
import torch

from agentforge.training.merge.checkpoints import CheckpointError
from agentforge.training.merge.run import RECORD, MergeError, merge
from agentforge.training.merge.spec import MergeSpec, MergeSpecError
from tests.training.merge.conftest import load, save_llama

NORM = "model.norm.weight"


def run(tiny, tmp_path, method, **options):
    base = None if method == "linear" else tiny["base"]
    spec = MergeSpec(method=method, base=base, models=[tiny["a"], tiny["b"]], **options)
    out = tmp_path / method
    merge(spec, out, tokenizer_from=tiny["base"])  # linear has no base: the tokenizer is named
    return load(out)


def close(actual, expected):
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), rtol=1e-6, atol=1e-6)


def test_linear_is_the_weighted_average_of_every_tensor(tiny, tmp_path):
    merged = run(tiny, tmp_path, "linear", weights=[1.0, 3.0])
    close(merged[NORM], [(2 - 3 * 2) / 4, (1 + 3 * 3) / 4, (-0.5 + 3 * 2) / 4, (1.5 + 3 * 2.5) / 4])
    a, b = load(tiny["a"]), load(tiny["b"])
    assert merged.keys() == a.keys()
    for name in a:
        torch.testing.assert_close(merged[name], (a[name] + 3 * b[name]) / 4, rtol=1e-5, atol=1e-6)


def test_linear_without_normalize_is_the_weighted_sum(tiny, tmp_path):
    merged = run(tiny, tmp_path, "linear", weights=[0.5, 0.25], normalize=False)
    close(merged[NORM], [0.5 * 2 - 0.25 * 2, 0.5 + 0.75, -0.25 + 0.5, 0.75 + 0.625])


def test_task_arithmetic_adds_the_scaled_task_vectors_to_the_base(tiny, tmp_path):
    merged = run(tiny, tmp_path, "task_arithmetic", lambda_=0.5)
    # base + 0.5 (Δa + Δb) = 1 + 0.5 [-2, 2, -0.5, 2]
    close(merged[NORM], [0.0, 2.0, 0.75, 2.0])
    base, a, b = load(tiny["base"]), load(tiny["a"]), load(tiny["b"])
    for name in base:
        expected = base[name] + 0.5 * ((a[name] - base[name]) + (b[name] - base[name]))
        torch.testing.assert_close(merged[name], expected, rtol=1e-5, atol=1e-6)


def test_ties_trims_elects_a_sign_and_averages_the_agreeing(tiny, tmp_path):
    merged = run(tiny, tmp_path, "ties", density=0.5)
    # trim (top 2 of 4 by magnitude): Δa -> [1, 0, -1.5, 0], Δb -> [-3, 2, 0, 0]
    # elected sign of the sum [-2, 2, -1.5, 0]: [-, +, -, + (ties go +)]
    # agreeing: idx0 b (-3), idx1 b (2), idx2 a (-1.5), idx3 none -> disjoint mean, added to base 1
    close(merged[NORM], [-2.0, 3.0, -0.5, 1.0])


def test_ties_weights_and_lambda(tiny, tmp_path):
    merged = run(tiny, tmp_path, "ties", density=0.5, weights=[3.0, 1.0], lambda_=2.0)
    # weighted trimmed deltas: 3Δa -> [3, 0, -4.5, 0], Δb -> [-3, 2, 0, 0]; sum [0, 2, -4.5, 0] -> signs [+, +, -, +]
    # idx0: only a agrees: 3/3 = 1; idx1: b: 2/1; idx2: a: -4.5/3 = -1.5; idx3: none -> 0; then × λ = 2
    close(merged[NORM], [3.0, 5.0, -2.0, 1.0])


def test_sce_without_selection_weights_by_mean_square_and_erases_disagreeing_signs(tiny, tmp_path):
    merged = run(tiny, tmp_path, "sce")
    # w ∝ mean square: a (1 + 0 + 2.25 + 0.25)/4 = 14/16, b (9 + 4 + 1 + 2.25)/4 = 65/16 -> 14/79, 65/79
    # sign of ΣΔ [-2, 2, -0.5, 2]: idx0 only b, idx1 only b, idx2 only a, idx3 both (weighted mean)
    close(merged[NORM], [1 - 3, 1 + 2, 1 - 1.5, 1 + (0.5 * 14 + 1.5 * 65) / 79])


def test_sce_select_keeps_the_highest_variance_elements(tiny, tmp_path):
    merged = run(tiny, tmp_path, "sce", select_topk=0.5)
    # variance across (Δa, Δb): ((Δa-Δb)/2)² = [4, 1, 1.5625, 0.25] -> top 2: idx0, idx2; the rest is 0
    # erase on the selected [-2, 0, -0.5, 0]: idx0 only b (-3), idx2 only a (-1.5)
    close(merged[NORM], [-2.0, 1.0, -0.5, 1.0])


def test_sce_whole_tensors_stay_between_the_inputs_where_they_agree(tiny, tmp_path):
    """Every tensor, not just the hand-set one: where both task vectors have one sign the SCE delta
    is a convex mix of them, and where they disagree it is one of them."""
    merged = run(tiny, tmp_path, "sce")
    base, a, b = load(tiny["base"]), load(tiny["a"]), load(tiny["b"])
    for name in base:
        da, db, dm = a[name] - base[name], b[name] - base[name], merged[name] - base[name]
        lo, hi = torch.minimum(da, db) - 1e-5, torch.maximum(da, db) + 1e-5
        assert ((dm >= lo) & (dm <= hi)).all(), name
        opposite = da * db < 0
        is_one = torch.isclose(dm, da, atol=1e-5) | torch.isclose(dm, db, atol=1e-5)
        assert is_one[opposite].all(), name


def test_the_output_is_a_servable_checkpoint(tiny, tmp_path):
    import asyncio

    from agentforge.runtime.backends.embedded import EmbeddedBackend
    from agentforge.runtime.messages import Message, Sampling

    out = tmp_path / "sce"
    result = merge(MergeSpec(method="sce", base=tiny["base"], models=[tiny["a"], tiny["b"]]), out)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"):
        assert (out / name).read_bytes() == (tiny["base"] / name).read_bytes(), name
    assert result.tensors == len(load(tiny["base"]))
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {oct(0o666 & ~umask)}  # servable by others
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "llama" and config["hidden_size"] == 4
    record = json.loads((out / RECORD).read_text())
    assert record["method"] == "sce" and record["mergekit"]
    backend = EmbeddedBackend.load(str(out), max_slots=1)
    try:
        [c] = asyncio.run(backend.complete([Message.user("hello world")],
                                           sampling=Sampling(temperature=0, max_tokens=3)))
        assert 1 <= len(c.token_ids) <= 3
    finally:
        backend.engine.stop()


def test_the_tokenizer_comes_from_the_first_model_when_the_base_has_none(tiny, tmp_path):
    from tests.training.merge.conftest import save_tokenizer

    bare = save_llama(tmp_path / "bare-base", 0)
    a = save_llama(tmp_path / "a", 1)
    save_tokenizer(a)
    out = tmp_path / "out"
    merge(MergeSpec(method="task_arithmetic", base=bare, models=[a, tiny["b"]]), out)
    assert (out / "tokenizer.json").read_bytes() == (a / "tokenizer.json").read_bytes()


def test_no_tokenizer_anywhere_is_a_clear_error(tmp_path):
    base, a = save_llama(tmp_path / "base", 0), save_llama(tmp_path / "a", 1)
    with pytest.raises(CheckpointError, match="no input has tokenizer files"):
        merge(MergeSpec(method="sce", base=base, models=[a]), tmp_path / "out")


def test_mismatched_shapes_are_a_clear_error(tiny, tmp_path):
    wide = save_llama(tmp_path / "wide", 5, hidden_size=8)
    with pytest.raises(CheckpointError, match="hidden_size 8, but .* has 4"):
        merge(MergeSpec(method="ties", base=tiny["base"], models=[tiny["a"], wide]), tmp_path / "out")
    config = json.loads((wide / "config.json").read_text())
    config["hidden_size"] = 4  # a config that lies: the tensor shapes still differ
    (wide / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"has shape \[.*\], .* has \[.*\]: merging needs the same shapes"):
        merge(MergeSpec(method="ties", base=tiny["base"], models=[tiny["a"], wide]), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_inputs_are_clear_errors(tiny, tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        merge(MergeSpec(method="sce", base=tiny["base"], models=[tmp_path / "nope"]), tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        merge(MergeSpec(method="sce", base=tiny["base"], models=[tmp_path / "empty"]), tmp_path / "out")
    (tmp_path / "empty" / "config.json").write_text((tiny["a"] / "config.json").read_text())
    with pytest.raises(CheckpointError, match="no .safetensors weights"):
        merge(MergeSpec(method="sce", base=tiny["base"], models=[tmp_path / "empty"]), tmp_path / "out")


def test_a_non_empty_output_needs_overwrite(tiny, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    spec = MergeSpec(method="sce", base=tiny["base"], models=[tiny["a"], tiny["b"]])
    with pytest.raises(MergeError, match="not empty"):
        merge(spec, out)
    merge(spec, out, overwrite=True)
    assert (out / "config.json").is_file()


@pytest.mark.parametrize("options, message", [
    (dict(method="sce", weights=[1.0, 2.0]), "--weight does not apply to sce"),
    (dict(method="ties", select_topk=0.5), "--select-topk does not apply to ties"),
    (dict(method="task_arithmetic", density=0.5), "--density does not apply to task_arithmetic"),
    (dict(method="ties", weights=[1.0]), "1 --weight for 2 models"),
    (dict(method="ties", density=1.5), r"--density is a fraction in \(0, 1\]"),
    (dict(method="dare"), "unknown merge method 'dare'"),
    (dict(method="ties", base=None), "give the base with --base"),
    (dict(method="linear"), "linear averages the -m models and uses no base"),
    (dict(method="sce", dtype="int8"), "--dtype 'int8'"),
])
def test_options_that_do_not_make_a_merge(tiny, options, message):
    spec = MergeSpec(**{"base": tiny["base"], "models": [tiny["a"], tiny["b"]], **options})
    with pytest.raises(MergeSpecError, match=message):
        spec.check()


def test_method_aliases_and_the_mergekit_config(tiny):
    spec = MergeSpec(method="task-arithmetic", base=tiny["base"], models=[tiny["a"], tiny["b"]],
                     weights=[0.3, 0.7], lambda_=0.8)
    config = spec.mergekit_config("bfloat16")
    assert config["merge_method"] == "task_arithmetic" and config["out_dtype"] == "bfloat16"
    assert config["dtype"] == "float32" and config["parameters"] == {"lambda": 0.8}
    assert [m["parameters"]["weight"] for m in config["models"]] == [0.3, 0.7]
    assert config["base_model"] == str(tiny["base"].resolve())


def test_without_mergekit_the_error_says_how_to_install_it(tiny, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mergekit.config", None)  # import mergekit.config raises ImportError
    with pytest.raises(MergeError, match=r"merging needs mergekit .*pip install 'agentforge\[merge\]'"):
        merge(MergeSpec(method="sce", base=tiny["base"], models=[tiny["a"], tiny["b"]]), tmp_path / "out")
