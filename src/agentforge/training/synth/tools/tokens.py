"""Token counts of records as the model will see them: the embedded model's
tokenizer and chat template (tools rendered in the system turn)."""

from __future__ import annotations

from statistics import mean
from typing import Any, Iterable


def load_tokenizer(path: str | None = None) -> Any:
    from transformers import AutoTokenizer

    from agentforge.runtime.backends.checkpoint import default_checkpoint

    return AutoTokenizer.from_pretrained(str(path or default_checkpoint()))


def record_tokens(tokenizer: Any, record: dict) -> int:
    messages = [{k: v for k, v in m.items() if k != "meta"} for m in record["messages"]]
    ids = tokenizer.apply_chat_template(messages, tools=record.get("tools") or None, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # some versions return a BatchEncoding
        ids = ids["input_ids"]
    return len(ids)


def token_stats(tokenizer: Any, records: Iterable[dict]) -> dict[str, Any]:
    """Mean / max tokens per record, overall and by shape, and the share over 400 tokens."""
    by_shape: dict[str, list[int]] = {}
    for rec in records:
        shape = (rec.get("meta") or {}).get("shape", "?")
        by_shape.setdefault(shape, []).append(record_tokens(tokenizer, rec))
    every = [n for counts in by_shape.values() for n in counts]
    if not every:
        return {"records": 0}
    return {"records": len(every), "mean": round(mean(every), 1), "max": max(every),
            "share_over_400": round(sum(n > 400 for n in every) / len(every), 3),
            "by_shape": {s: {"n": len(c), "mean": round(mean(c), 1), "max": max(c)} for s, c in sorted(by_shape.items())}}
