"""A fixed, realistic set of training records for the SFT benchmarks.

Tool-use conversations in the shared record format ({messages, tools}): one
call, parallel calls, a tool result then a final answer, a two-step episode,
and a question answered in text with no call. Invented functions, not from any
benchmark. Seeded, so both sides of a comparison see the same records.
"""

from __future__ import annotations

import json
import random
from pathlib import Path


def _tool(name: str, description: str, params: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": params,
                                                            "required": required}}}


S = {"type": "string"}
TOOLS = {
    "weather": _tool("get_forecast", "Weather forecast for a city over the next days.",
                     {"city": {**S, "description": "City name, e.g. 'Lyon'"},
                      "days": {"type": "integer", "description": "Days ahead, 1-7", "default": 1},
                      "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"}}, ["city"]),
    "flights": _tool("search_flights", "Find direct flights between two airports on a date.",
                     {"origin": {**S, "description": "IATA code of the departure airport"},
                      "destination": {**S, "description": "IATA code of the arrival airport"},
                      "date": {**S, "description": "Departure date, YYYY-MM-DD"},
                      "cabin": {"type": "string", "enum": ["economy", "premium", "business"]}},
                     ["origin", "destination", "date"]),
    "invoice": _tool("create_invoice", "Create an invoice for a customer with line items.",
                     {"customer_id": {**S, "description": "Customer reference"},
                      "items": {"type": "array", "items": {"type": "object", "properties": {
                          "sku": S, "quantity": {"type": "integer"}}, "required": ["sku", "quantity"]}},
                      "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"], "default": "EUR"}},
                     ["customer_id", "items"]),
    "stock": _tool("check_inventory", "Units in stock of a product at a warehouse.",
                   {"sku": {**S, "description": "Product SKU"},
                    "warehouse": {**S, "description": "Warehouse code, e.g. 'BER-2'"}}, ["sku"]),
    "convert": _tool("convert_currency", "Convert an amount between currencies at today's rate.",
                     {"amount": {"type": "number"}, "source": S, "target": S}, ["amount", "source", "target"]),
    "meeting": _tool("schedule_meeting", "Put a meeting in the shared calendar.",
                     {"title": S, "start": {**S, "description": "ISO 8601 start time"},
                      "duration_minutes": {"type": "integer", "default": 30},
                      "attendees": {"type": "array", "items": {"type": "string"}}}, ["title", "start"]),
}

CITIES = ["Lyon", "Porto", "Kraków", "Osaka", "Nairobi", "Quito", "Tromsø", "Adelaide", "Montréal", "Tbilisi"]
AIRPORTS = [("LIS", "Lisbon"), ("FRA", "Frankfurt"), ("NRT", "Tokyo"), ("JFK", "New York"), ("CPT", "Cape Town"),
            ("GRU", "São Paulo"), ("YVR", "Vancouver"), ("IST", "Istanbul")]
SKUS = ["KB-104", "MS-220", "LT-7781", "HD-3", "CB-90X", "MON-27Q"]
NAMES = ["Priya", "Tomás", "Mei", "Olu", "Sven", "Leila"]


def _call(i: int, name: str, args: dict) -> dict:
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _weather(rng: random.Random) -> dict:
    city, days = rng.choice(CITIES), rng.randint(1, 5)
    ask = rng.choice([f"What's the weather going to be like in {city} for the next {days} days?",
                      f"Can you pull up a {days}-day forecast for {city}, please?",
                      f"I'm heading to {city}; how will the weather be over the coming {days} days?"])
    temps = [rng.randint(-5, 31) for _ in range(days)]
    result = {"city": city, "daily": [{"day": d + 1, "high_c": t, "rain_mm": rng.randint(0, 12)}
                                      for d, t in enumerate(temps)]}
    answer = (f"In {city} the highs range from {min(temps)}°C to {max(temps)}°C over the next {days} days"
              + (", with some rain expected." if any(x["rain_mm"] > 4 for x in result["daily"]) else ", mostly dry."))
    return {"tools": ["weather", "convert"], "messages": [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": "", "tool_calls": [_call(0, "get_forecast", {"city": city, "days": days})]},
        {"role": "tool", "tool_call_id": "call_0", "content": json.dumps(result, ensure_ascii=False)},
        {"role": "assistant", "content": answer}]}


def _flights(rng: random.Random) -> dict:
    (o, oname), (d, dname) = rng.sample(AIRPORTS, 2)
    date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    cabin = rng.choice(["economy", "business"])
    ask = f"Find me {cabin} flights from {oname} ({o}) to {dname} ({d}) on {date}."
    found = [{"flight": f"{rng.choice('ABCDLU')}{rng.choice('ABCDLU')}{rng.randint(100, 999)}",
              "departs": f"{rng.randint(6, 22):02d}:{rng.choice(['05', '30', '45'])}", "price": rng.randint(180, 2400)}
             for _ in range(rng.randint(1, 3))]
    cheapest = min(found, key=lambda f: f["price"])
    return {"tools": ["flights", "weather", "meeting"], "messages": [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": "", "tool_calls": [
            _call(0, "search_flights", {"origin": o, "destination": d, "date": date, "cabin": cabin})]},
        {"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"flights": found})},
        {"role": "assistant", "content": f"I found {len(found)} direct flight(s). The cheapest is {cheapest['flight']} "
                                         f"at {cheapest['departs']} for {cheapest['price']}."}]}


def _stock_parallel(rng: random.Random) -> dict:
    skus = rng.sample(SKUS, rng.randint(2, 3))
    wh = rng.choice(["BER-2", "MAD-1", "DUB-4"])
    ask = f"How many units of {', '.join(skus[:-1])} and {skus[-1]} do we have at {wh}?"
    counts = {s: rng.randint(0, 400) for s in skus}
    calls = [_call(i, "check_inventory", {"sku": s, "warehouse": wh}) for i, s in enumerate(skus)]
    msgs = [{"role": "user", "content": ask}, {"role": "assistant", "content": "", "tool_calls": calls}]
    msgs += [{"role": "tool", "tool_call_id": f"call_{i}", "content": json.dumps({"sku": s, "units": counts[s]})}
             for i, s in enumerate(skus)]
    msgs.append({"role": "assistant", "content": "At " + wh + ": " + "; ".join(f"{s}: {n} units"
                                                                              for s, n in counts.items()) + "."})
    return {"tools": ["stock", "invoice"], "messages": msgs}


def _invoice_episode(rng: random.Random) -> dict:
    sku, qty, who = rng.choice(SKUS), rng.randint(1, 20), f"C-{rng.randint(1000, 9999)}"
    have = rng.randint(0, 30)
    msgs = [{"role": "user", "content": f"Customer {who} wants {qty} x {sku}. If we have them, invoice it in USD."},
            {"role": "assistant", "content": "Let me check stock first.",
             "tool_calls": [_call(0, "check_inventory", {"sku": sku})]},
            {"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"sku": sku, "units": have})}]
    if have >= qty:
        msgs += [{"role": "assistant", "content": "", "tool_calls": [_call(1, "create_invoice", {
                     "customer_id": who, "items": [{"sku": sku, "quantity": qty}], "currency": "USD"})]},
                 {"role": "tool", "tool_call_id": "call_1",
                  "content": json.dumps({"invoice": f"INV-{rng.randint(10000, 99999)}", "status": "issued"})},
                 {"role": "assistant", "content": f"Done: {qty} x {sku} are in stock and the invoice for {who} "
                                                  "has been issued in USD."}]
    else:
        msgs.append({"role": "assistant", "content": f"Only {have} units of {sku} are in stock, fewer than the "
                                                     f"{qty} requested, so I did not create the invoice. "
                                                     "Should I invoice the available units instead?"})
    return {"tools": ["stock", "invoice", "convert"], "messages": msgs}


def _no_call(rng: random.Random) -> dict:
    q, a = rng.choice([
        ("What does an invoice's 'net 30' term mean?",
         "'Net 30' means the full amount is due 30 days after the invoice date."),
        ("Is it better to book flights on a Tuesday?",
         "There is no reliable weekday effect; prices depend mostly on demand and how early you book."),
        ("Can you order pizza for the team?",
         "I can't place food orders with the tools I have. I can schedule a meeting or check inventory."),
    ])
    return {"tools": ["meeting", "stock"], "messages": [{"role": "user", "content": q},
                                                          {"role": "assistant", "content": a}]}


def _meeting(rng: random.Random) -> dict:
    people = rng.sample(NAMES, rng.randint(2, 4))
    hour = rng.randint(8, 17)
    title = rng.choice(["Quarterly planning", "Design review", "Vendor call", "Retro"])
    start = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{hour:02d}:00:00"
    ask = f"Set up a {title.lower()} with {', '.join(people)} on {start[:10]} at {hour}:00 for an hour."
    return {"tools": ["meeting", "weather"], "messages": [
        {"role": "system", "content": "You are the office assistant. Use tools when they help."},
        {"role": "user", "content": ask},
        {"role": "assistant", "content": "", "tool_calls": [_call(0, "schedule_meeting", {
            "title": title, "start": start, "duration_minutes": 60, "attendees": people})]},
        {"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"event_id": f"ev{rng.randint(100, 999)}"})},
        {"role": "assistant", "content": f"The {title.lower()} is booked for {start[:10]} at {hour}:00 with "
                                         f"{', '.join(people)}."}]}


SHAPES = [_weather, _flights, _stock_parallel, _invoice_episode, _no_call, _meeting]


def build_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = SHAPES[i % len(SHAPES)](rng)
        out.append({"messages": r["messages"], "tools": [TOOLS[k] for k in r["tools"]],
                    "meta": {"source": "bench", "shape": SHAPES[i % len(SHAPES)].__name__.strip("_")}})
    return out


def write_records(path: Path, n: int, seed: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in build_records(n, seed):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path
