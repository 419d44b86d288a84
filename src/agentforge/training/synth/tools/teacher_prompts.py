"""What teacher mode asks the teacher, one prompt per step of the paper's
multi-turn prompting: tools of a domain, tasks for those tools, the
conversation itself, and each tool's result (the teacher plays the tool)."""

from __future__ import annotations

import json
from typing import Any

from agentforge.runtime.messages import Message

# Varied on purpose: the trained model must generalize across domains, not learn a few.
# None is a BFCL category or API family.
DEFAULT_DOMAINS = [
    "home energy monitoring", "veterinary clinic scheduling", "public library catalog",
    "freight shipping quotes", "personal fitness tracking", "restaurant reservations",
    "museum ticketing", "crop irrigation planning", "used car marketplace", "language course enrollment",
    "apartment maintenance requests", "podcast hosting", "municipal parking permits", "wine cellar inventory",
    "bike sharing", "dental insurance claims", "event venue booking", "3D printing service orders",
    "astronomy observation planning", "recipe nutrition analysis", "coworking space desks",
    "warehouse stock counts", "tutoring marketplace", "sports league standings", "pet adoption",
    "electric vehicle charging", "conference talk submissions", "garden plant care",
    "currency exchange desk", "hiking trail conditions", "music lesson booking", "laundry pickup service",
]

TOOLS_SYSTEM = "You design functions (APIs) that an AI assistant can call. You reply with JSON only."
TASKS_SYSTEM = "You write realistic requests that users send to an AI assistant. You reply with JSON only."
ASSISTANT_SYSTEM = (
    "You are a helpful assistant with access to functions. When the functions can fulfil the user's "
    "request, call them, taking every argument value from the request; when the request needs several "
    "calls, make them all in the same turn. When no function fits, or a required value is missing, "
    "do not call anything: answer in plain text, saying what you cannot do or asking for what is missing. "
    "After the function results arrive, answer the user briefly using them."
)
TOOL_SYSTEM = "You simulate a function (an API endpoint). You reply with the function's JSON result only."

_TOOL_EXAMPLE = {
    "name": "search_flights",
    "description": "Search one-way flights between two airports on a date.",
    "parameters": {
        "type": "object",
        "properties": {
            "origin": {"type": "string", "description": "IATA code of the departure airport, e.g. LIS"},
            "destination": {"type": "string", "description": "IATA code of the arrival airport"},
            "date": {"type": "string", "description": "Departure date, YYYY-MM-DD"},
            "cabin": {"type": "string", "enum": ["economy", "business"], "default": "economy"},
        },
        "required": ["origin", "destination", "date"],
    },
}


def _as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def tools_prompt(domain: str, count: int) -> list[Message]:
    return [
        Message.system(TOOLS_SYSTEM),
        Message.user(
            f'Design {count} different functions for the domain "{domain}". Reply with a JSON array of '
            "OpenAI function schemas like this one:\n"
            f"{_as_json(_TOOL_EXAMPLE)}\n"
            "Use snake_case names and the JSON-schema types string, integer, number, boolean, array (with "
            "items) and object (with properties). Use enum for closed sets of values; leave optional "
            "parameters out of required and give them a default. Reply with the JSON array only."
        ),
    ]


def tasks_prompt(tools: list[dict], solvable: int, unsolvable: int) -> list[Message]:
    listing = "\n".join(_as_json(t["function"]) for t in tools)
    return [
        Message.system(TASKS_SYSTEM),
        Message.user(
            f"An assistant can call these functions:\n{listing}\n\n"
            f"Write {solvable} user requests that these functions can fulfil. State every required "
            "argument value in the request itself, in natural words (dates, amounts, names); some requests "
            "need two or more calls. Then write "
            f"{unsolvable} requests that none of the functions can fulfil. Vary the wording and the length. "
            'Reply with a JSON array of objects {"query": "...", "solvable": true or false} only.'
        ),
    ]


def assistant_prompt(query: str) -> list[Message]:
    return [Message.system(ASSISTANT_SYSTEM), Message.user(query)]


def tool_result_prompt(tool: dict, arguments: dict) -> list[Message]:
    return [
        Message.system(TOOL_SYSTEM),
        Message.user(
            f"The function:\n{_as_json(tool['function'])}\n\nIt was called with these arguments:\n"
            f"{_as_json(arguments)}\n\nReply with the JSON object it returns: realistic, specific values "
            "consistent with the arguments. If such a call would fail in reality (nothing matches, a value "
            'is not accepted), return {"error": "<the reason>"} instead. Reply with JSON only.'
        ),
    ]
