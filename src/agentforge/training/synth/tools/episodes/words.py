"""Small shared vocabularies and phrasing helpers for the scenarios."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Priya", "Tomás", "Aiko", "Marcus", "Léa", "Olu", "Sven", "Mei", "Rafael", "Nadia", "Jonas", "Fatima",
    "Keiko", "Diego", "Hannah", "Ibrahim", "Zoe", "Anders", "Lucia", "Kwame", "Elif", "Ravi", "Greta", "Sam",
)
LAST_NAMES = (
    "Patel", "Okafor", "Lindqvist", "Tanaka", "Moreau", "García", "Kowalski", "Nguyen", "Schmidt", "Haddad",
    "Rossi", "Mensah", "Fischer", "Yilmaz", "Costa", "Brennan", "Ito", "Novak",
)
DOMAINS = ("example.com", "acme.io", "northwind.org", "contoso.net", "fabrikam.co")

THANKS = ("", "", "Thanks!", "Thanks.", "Cheers.")
PLEASE = ("", "please", "Please", "Could you")


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email(rng: random.Random, name: str | None = None) -> str:
    first = (name or rng.choice(FIRST_NAMES)).split()[0]
    ascii_first = first.encode("ascii", "ignore").decode().lower() or "user"
    return f"{ascii_first}@{rng.choice(DOMAINS)}"


def date(rng: random.Random, year: int = 2025) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def money(value: float, currency: str) -> str:
    symbol = {"USD": "$", "GBP": "£", "EUR": "€"}.get(currency)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}" if symbol else f"{value:,.2f} {currency}"


def num(value: float) -> int | float:
    """A whole amount as an int (as a user would write it), else the float."""
    return int(value) if float(value).is_integer() else value


def join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def choose(rng: random.Random, *options: str) -> str:
    return rng.choice(options)
