"""Contrast pairs: the same request with its tool (call it) and without it (say so).

A small model trained on separate "call" and "no fitting tool" records learns
the prior "a tool is offered, so call it": on BFCL irrelevance (one function
that does not fit, usually from the request's own domain) our first SFT model
called the tool in two cases of three. A pair built from one `multiple`
record holds the same user request twice: once offered only the tool it needs
(the gold call), once offered only a distractor, which the generator draws
half the time from the same domain (a short text answer naming what the tool
does instead). Only the offered tool differs, so the only thing to learn is
whether it fits.

A pair of the "set" kind keeps every tool of the record: the call is made
among all of them, and the refusal is offered all but the needed one. Stage 2
of the first model had only single-tool pairs, and it then refused BFCL
`multiple` entries with "the only function I have..." while several were
offered: the number of tools had become the cue. `--set-share` mixes both.

    python -m agentforge.training.synth.tools.contrast SOURCE.jsonl OUT.jsonl [--seed 0] [--set-share 0.5]

SOURCE: records of the generator (`agent train synth tools`). `multiple`
records become pairs; the other records are copied as they are (replay).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path
from typing import Iterable, Iterator

from agentforge.training.synth.tools.records import validate_record

REFUSALS = (
    "The only function I have, {name}, is for something else ({what}), so I can't do this with it.",
    "I can't help with that using the available tool: {name} only handles {what}.",
    "None of my functions fit this request. {name} is meant for {what}.",
    "That isn't something {name} can do; it is for {what}. I have no suitable tool for this request.",
    "Sorry, I don't have a function for that. The one I can use, {name}, is for {what}.",
    "There is no tool here for this request, so I can't do it.",
)
SET_REFUSALS = (
    "None of the available functions fit this request: {names} are for other tasks.",
    "I can't do that with the tools I have. {names} handle other things.",
    "Sorry, no function here can do this. The ones I have ({names}) are for something else.",
    "There is no suitable tool for this request among {names}, so I can't do it.",
)


def _what(tool: dict) -> str:
    text = tool["function"].get("description", "").strip().split(". ")[0].rstrip(".")
    return (text[0].lower() + text[1:]) if text else "another task"


def contrast_pair(record: dict, rng: random.Random, kind: str = "single") -> list[dict]:
    """[call, refusal], or [] if the record has no distractor. kind "single": the needed tools only,
    then one distractor only; kind "set": every tool, then every tool but the needed ones."""
    *context, answer = record["messages"]
    called = {c["function"]["name"] for c in answer.get("tool_calls") or []}
    needed = [t for t in record["tools"] if t["function"]["name"] in called]
    others = [t for t in record["tools"] if t["function"]["name"] not in called]
    if not needed or not others:
        return []
    meta = dict(record.get("meta") or {})
    if kind == "set" and len(others) > 1:
        offered, refused = copy.deepcopy(record["tools"]), others
        names = ", ".join(t["function"]["name"] for t in others)
        text = rng.choice(SET_REFUSALS).format(names=names)
    else:
        distractor = rng.choice(others)
        offered, refused = needed, [distractor]
        text = rng.choice(REFUSALS).format(name=distractor["function"]["name"], what=_what(distractor))
    positive = {"messages": copy.deepcopy(record["messages"]), "tools": offered,
                "meta": meta | {"shape": "contrast_call"}}
    negative = {"messages": copy.deepcopy(context) + [{"role": "assistant", "content": text}],
                "tools": refused, "meta": meta | {"shape": "contrast_no_call"}}
    return [positive, negative]


def contrast(records: Iterable[dict], rng: random.Random, set_share: float = 0.0) -> Iterator[dict]:
    for record in records:
        if (record.get("meta") or {}).get("shape") == "multiple":
            yield from contrast_pair(record, rng, "set" if rng.random() < set_share else "single")
        else:
            yield record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set-share", type=float, default=0.0,
                   help="share of pairs that keep every tool (call among all, refuse with the rest)")
    args = p.parse_args()
    records = [json.loads(line) for line in args.source.read_text().splitlines() if line.strip()]
    out = list(contrast(records, random.Random(args.seed), args.set_share))
    random.Random(args.seed).shuffle(out)
    for i, record in enumerate(out):
        problems = validate_record(record)
        if problems:
            raise SystemExit(f"record {i} is invalid: {problems}")
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    tmp.replace(args.out)
    shapes: dict[str, int] = {}
    for r in out:
        shapes[r["meta"]["shape"]] = shapes.get(r["meta"]["shape"], 0) + 1
    print(f"{len(out)} records -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(shapes.items())))


if __name__ == "__main__":
    main()
