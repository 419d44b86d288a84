"""The RL tests share the SFT tests' tiny randomly initialised Llama (the real tokenizer)."""

from tests.training.sft.test_distributed import tiny_llama  # noqa: F401  (a fixture)
