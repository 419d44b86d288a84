"""Natural-language sides of a record: user requests built from a family's
task and parameter phrases, and the assistant's short texts when it does not
call (no fitting tool, or a value is missing)."""

from __future__ import annotations

import random
from typing import Any

from agentforge.training.synth.tools.catalog import Family, Param
from agentforge.training.synth.tools.values import join_words

# A task ending in one of these needs its first parameter's phrase right after it.
DANGLING = {"of", "for", "to", "with", "from", "about", "on", "matching", "use", "text", "ping", "summarize", "the",
            "define", "into", "an", "a", "convert", "exchange", "prime:"}
_PREPOSITIONS = {"for", "in", "on", "at", "from", "to", "with", "by", "over", "under", "between", "during", "after"}

_OPENERS = [("{T}", "."), ("Please {t}", "."), ("Can you {t}", "?"), ("Could you please {t}", "?"), ("I need to {t}", "."),
            ("I'd like to {t}", "."), ("Help me {t}", "."), ("Would you {t}", "?"), ("I want you to {t}", "."),
            ("Hey, {t}", ", please."), ("{T}", " please."), ("Can I get you to {t}", "?"), ("Go ahead and {t}", "."),
            ("Let's {t}", "."), ("Need you to {t}", "."), ("{T}", ""), ("Could you {t}", "?"), ("Kindly {t}", ".")]
_CHATTER_BEFORE = ["Hi!", "Hello there.", "Quick question:", "Morning!", "Okay, next thing.", "I'm planning ahead this week.",
                   "Sorry to bother you.", "My manager asked me about this.", "This is for a school project.",
                   "Hope you're well.", "One more request:", "So,", "Alright,"]
_CHATTER_AFTER = ["Thanks!", "Thank you.", "Appreciate it.", "No rush.", "Thanks a lot!", "Cheers.",
                  "That would help a lot.", "Much appreciated!"]


def _you(task: str) -> str:
    """The user's task as the assistant says it back ("get me" -> "get you")."""
    words = {"me": "you", "my": "your", "I": "you", "I'd": "you'd"}
    return " ".join(words.get(w, w) for w in task.split())


def bare_task(task: str) -> str:
    """The task without a trailing dangling word ("get the GCD of" -> "get the GCD")."""
    words = task.split()
    while len(words) > 1 and words[-1] in DANGLING:
        words.pop()
    return " ".join(words)


def _dangles(task: str) -> bool:
    return task.split()[-1] in DANGLING


_UNITS = {"cm", "m", "mm", "km", "kg", "g", "ml", "l", "kmh", "kw", "au", "c", "k", "usd", "percent", "pct"}
_BY_NAME = ["{l} {v}", "{l}: {v}", "{l} = {v}", "with {l} {v}", "{l} set to {v}", "using {l} {v}"]


def label(p: Param) -> str:
    """The parameter's name as words, without a unit suffix ("rise_cm" -> "rise")."""
    words = p.name.split("_")
    while len(words) > 1 and words[-1] in _UNITS:
        words.pop()
    return " ".join(words)


def phrase(p: Param, value: Any, text: str, rng: random.Random | None = None) -> str:
    """How the query states one value: the family's phrase, or now and then the parameter's own name."""
    if p.kind.type == "boolean":
        yes, _, no = p.phrase.partition("/")
        return yes if value else no
    bare = p.phrase.lstrip("'\"").startswith("{}")  # the object of its task ("factorize {}"): keep it so
    if rng is not None and p.kind.type != "object" and not bare and rng.random() < 0.12:
        return rng.choice(_BY_NAME).replace("{l}", label(p)).replace("{v}", text)
    return p.phrase.replace("{}", text)


def _can_front(text: str) -> bool:
    return text.split(" ", 1)[0].lower() in _PREPOSITIONS


def clause(rng: random.Random, family: Family, said: list[tuple[Param, str]], task: str | None = None,
           plain: bool = False) -> str:
    """`task` followed by the phrases of the given (param, phrase text) pairs, in
    the family's order or shuffled where the grammar allows."""
    task = task or rng.choice(family.tasks)
    parts = [t for _, t in said]
    plain = plain or any(p.kind.type == "array" for p, _ in said)  # "a, b and c" must stay one list
    last = task.split()[-1]  # "check parking near" + "near 12 Elm St": say "near" once
    parts = [x[len(last) + 1:] if x.startswith(last + " ") and last in _PREPOSITIONS else x for x in parts]
    fixed = _dangles(task) or (said and (not _can_front(parts[0]) or parts[0].startswith("to ")))
    head, rest = (parts[:1], parts[1:]) if fixed else ([], parts)
    if rng.random() < 0.35:
        rng.shuffle(rest)
    parts = head + rest
    if not fixed and len(parts) > 1 and _can_front(parts[0]) and not parts[0].startswith("to ") and rng.random() < 0.15:
        return f"{parts[0]}, {task} {_join(rng, parts[1:], plain)}".strip()
    return f"{task} {_join(rng, parts, plain)}".strip()


def _no_and(text: str) -> str:
    return text[4:] if text.startswith("and ") else text


def _join(rng: random.Random, parts: list[str], plain: bool = False) -> str:
    """Phrases one after the other; `plain` when a phrase holds a list of its own (no extra "and")."""
    if not parts:
        return ""
    style = rng.random()
    if len(parts) > 1 and style < 0.3 and not plain:
        return join_words([_no_and(p) for p in parts], rng)
    return (", " if style < 0.5 else " ").join([_no_and(parts[0])] + parts[1:])


_ASKING = ("get the ", "find the ", "compute the ", "calculate the ", "work out the ", "estimate the ")
_QUESTIONS = [("What is the {r}", "?"), ("What's the {r}", "?"), ("I'd like to know the {r}", "."),
              ("Tell me the {r}", "."), ("I wonder what the {r} would be", "."), ("Any idea what the {r} is", "?")]


def request(rng: random.Random, body: str) -> str:
    """A whole user message around one clause (or several joined)."""
    asking = next((a for a in _ASKING if body.startswith(a)), None)
    if asking and rng.random() < 0.3:  # "find the area of ..." -> "What's the area of ...?"
        form, end = rng.choice(_QUESTIONS)
        text = form.replace("{r}", body[len(asking):]) + end
    elif _can_front(body):  # "In Lisbon, get ...": no opener goes before a fronted phrase
        text = body[:1].upper() + body[1:] + rng.choice([".", ".", " please.", ""])
    else:
        opener, end = rng.choice(_OPENERS)
        text = opener.replace("{T}", body[:1].upper() + body[1:]).replace("{t}", body) + end
    if rng.random() < 0.2:
        before = rng.choice(_CHATTER_BEFORE)
        text = f"{before} {text[:1].lower() + text[1:] if before.endswith(',') else text}"
    if rng.random() < 0.15:
        text = f"{text if text[-1] in '.?!' else text + '.'} {rng.choice(_CHATTER_AFTER)}"
    if rng.random() < 0.03:
        text = f'"{text}"'
    return text


def structured(rng: random.Random, task: str, said: list[tuple[Param, str]]) -> str:
    """The values as a list or inline labels instead of prose ("Task:\n- city: Lisbon")."""
    task = bare_task(task)
    task = task[:1].upper() + task[1:]
    labels = [(p.label if rng.random() < 0.7 else p.name, t) for p, t in said]
    if rng.random() < 0.5:
        return f"{task}:\n" + "\n".join(f"- {label}: {t}" for label, t in labels)
    return f"{task} ({', '.join(f'{label}: {t}' for label, t in labels)})" + rng.choice([".", "", "?"])


def raw_text(p: Param, value: Any, text: str, rng: random.Random) -> str:
    """A value as written after a label (booleans as yes/no)."""
    if p.kind.type == "boolean":
        return rng.choice([("yes", "no"), ("true", "false")])[0 if value else 1]
    return text


def joined(rng: random.Random, clauses: list[str]) -> str:
    """Several requests in one turn."""
    style = rng.random()
    if style < 0.4:
        return join_words(clauses, rng)
    glue = rng.choice([". Also, ", ". Then ", ", and also ", "; then ", ". After that, ", ". And ", ", plus "])
    out = clauses[0]
    for c in clauses[1:]:
        out += glue + c
    return out


_NO_TOOL = [
    "I'm sorry, but I can't {t} with the tools I have.",
    "None of the available functions can {t}, so I can't help with that here.",
    "I don't have a tool that can {t}.",
    "Unfortunately, there is no suitable function to {t}.",
    "That's outside what my tools can do: none of them can {t}.",
    "I can't {t} with the provided functions.",
    "Sorry, the functions I have access to can't {t}.",
    "There's no function here that can {t}, so I'm unable to do it.",
]
_NO_TOOL_GENERIC = [
    "I'm sorry, but none of the available tools can help with that.",
    "I don't have a suitable function for this request.",
    "None of the provided functions fit this request, so I can't do it with a tool.",
    "Sorry, I have no tool for that.",
    "The available functions don't cover this, so I can't help with it here.",
]
_ONLY = [" I can only {o}.", " The tools here only {o}.", " What I can do is {o}.", " My tools can {o}, though."]


def no_tool_reply(rng: random.Random, task: str | None, offered: list[Family]) -> str:
    if task and rng.random() < 0.75:
        text = rng.choice(_NO_TOOL).replace("{t}", _you(bare_task(task)))
    else:
        text = rng.choice(_NO_TOOL_GENERIC)
    if offered and rng.random() < 0.3:
        tasks = [_you(bare_task(rng.choice(f.tasks))) for f in offered[:2]]
        text += rng.choice(_ONLY).replace("{o}", join_words(tasks, rng, "or"))
    return text


_ASK = [
    "Sure. What {l} should I use?",
    "I can {t}, but I need the {l} first. What is it?",
    "Which {l} do you mean?",
    "To {t}, I need to know the {l}. Could you tell me?",
    "Happy to help. Could you give me the {l}?",
    "I'm missing the {l}. What should it be?",
    "Before I {t}, what's the {l}?",
]


def ask_reply(rng: random.Random, task: str, missing: list[Param]) -> str:
    labels = [p.label for p in missing]
    return rng.choice(_ASK).replace("{t}", _you(bare_task(task))).replace("{l}", join_words(labels, rng))


# Requests no family serves (those that one would, e.g. "define a word", are left out: offered
# that family's tool, the right answer would be a call).
_GENERAL = [
    "What's the oldest neighborhood in {city}?", "Write a limerick about a {breed}.", "Plan a three-day itinerary for {city}.",
    "What are good conversation starters for a {job}?", "Help me write a thank-you note to {person}.",
    "Explain the rules of {sport} in simple terms.", "What's the story behind the name {city}?",
    "Write a short poem about {topic}.", "Explain how {topic} affects daily life.",
    "Who wrote {book}?", "Tell me a joke about {sport}.", "What's the difference between {element} and {mineral}?",
    "Give me three tips for learning {instrument}.", "Why is the sky blue?",
    "How do I stay motivated when studying {subject}?",
    "Can you recommend a good {genre} album?", "What are some fun facts about the {species}?",
    "Describe the culture of {country} in two sentences.", "How do you pronounce {city}?",
    "What should I name my {breed} puppy?", "Tell me about the history of {game}.",
    "Is it better to learn {lang} or {lang}?", "What's a good birthday gift for a {job}?",
    "What time is it right now in {city}?", "What are the traffic rules for cyclists in {country}?", "How crowded is {city} in {month}?",
    "Who is the best {sport} player of all time?",
    "How long does it take to walk across {city}?", "What's the tallest building in {city}?",
    "Is {ingredient} healthy to eat every day?", "What's the best season to visit {country}?",
    "How do I get better at {game}?", "Which planet is closest to {planet}?", "Who discovered {element}?", "Why do {species}s migrate?", "What is {subject} used for in real life?",
    "Can you tell me a fun fact about {city}?", "What are the symptoms of a vitamin D deficiency?", "What's the average rent in {city}?", "Who founded {company}?", "What is the meaning of life?",
    "How do airplanes stay in the air?",
    "What's trending on social media today?", "How do I fix a squeaky door?", "Which {genre} movies came out last year?",
    "What's the national dish of {country}?",
    "How do I become a {job}?", "Who won the last {sport} world championship?",
    "What is the speed of light?", "How old is the universe?", "Tell me something interesting about {star}.",
    "What does a {job} do all day?", "How many bones are in the human body?",
]


def general_question(rng: random.Random) -> str:
    from agentforge.training.synth.tools.values import POOLS

    template = rng.choice(_GENERAL)
    while "{" in template:
        key = template[template.index("{") + 1:template.index("}")]
        template = template.replace("{" + key + "}", rng.choice(POOLS[key]), 1)
    return template
