"""Reading training records: JSONL of {messages, tools[, meta]} (the shared format).

Every line is checked before any training starts; a bad line is an error that
names its file and line, since a silently skipped record would be a silently
changed data mix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydantic import ValidationError

from agentforge.runtime.messages import Message, ToolSpec

MAX_REPORTED = 5  # bad lines quoted in the error


@dataclass(frozen=True)
class Record:
    messages: list[Message]
    tools: list[ToolSpec] | None
    where: str  # "file:line", for messages about this record


class RecordError(ValueError):
    """Some lines of the data are not valid records."""


def load_records(paths: Sequence[Path]) -> list[Record]:
    records, problems = [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    records.append(parse_record(json.loads(line), where))
                except (ValueError, ValidationError) as e:  # JSONDecodeError is a ValueError
                    problems.append(f"{where}: {_short(e)}")
    if problems:
        shown = "\n  ".join(problems[:MAX_REPORTED])
        more = f"\n  ... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise RecordError(
            f"{len(problems)} invalid training record(s); each line must be "
            f'{{"messages": [...], "tools": [...]}} in the OpenAI chat shape (see the training record format):\n  '
            f"{shown}{more}\nFix or remove these lines and run again."
        )
    if not records:
        raise RecordError(f"no records in {', '.join(map(str, paths))}")
    return records


def parse_record(obj: object, where: str = "") -> Record:
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        raise ValueError('not an object with a "messages" list')
    messages = []
    for i, m in enumerate(obj["messages"]):
        try:
            messages.append(Message.model_validate(m))
        except ValidationError as e:
            raise ValueError(f"messages[{i}]: {_short(e)}") from None
    if not any(m.role == "assistant" for m in messages):
        raise ValueError("no assistant message: nothing to learn from")
    for i, m in enumerate(messages):
        if m.role == "system" and i > 0:
            raise ValueError(f"messages[{i}] is a system message; only the first message may be one")
        if m.role == "tool" and m.content is None:
            raise ValueError(f"messages[{i}] is a tool message without content")
        if m.role == "assistant" and not m.content and not m.tool_calls:
            raise ValueError(f"messages[{i}] is an empty assistant message")
    tools = obj.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise ValueError('"tools" must be a list')
    return Record(messages, [ToolSpec.model_validate(t) for t in tools] if tools else None, where)


def _short(e: Exception) -> str:
    if isinstance(e, ValidationError):
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return f"{loc}: {first['msg']}" + (f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else "")
    return str(e)
