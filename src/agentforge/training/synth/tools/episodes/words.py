"""Small shared vocabularies and phrasing helpers for the scenarios."""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Priya", "Tomás", "Aiko", "Marcus", "Léa", "Olu", "Sven", "Mei", "Rafael", "Nadia", "Jonas", "Fatima",
    "Keiko", "Diego", "Hannah", "Ibrahim", "Zoe", "Anders", "Lucia", "Kwame", "Elif", "Ravi", "Greta", "Sam",
    "Chloé", "Yusuf", "Ingrid", "Mateo", "Amara", "Kenji", "Sofia", "Bongani", "Noor", "Pavel", "Leilani", "Oscar",
)
LAST_NAMES = (
    "Patel", "Okafor", "Lindqvist", "Tanaka", "Moreau", "García", "Kowalski", "Nguyen", "Schmidt", "Haddad",
    "Rossi", "Mensah", "Fischer", "Yilmaz", "Costa", "Brennan", "Ito", "Novak", "Dubois", "Abebe", "Larsen",
    "Herrera", "Kim", "Walsh", "Popescu", "Sato",
)
DOMAINS = ("example.com", "acme.io", "northwind.org", "contoso.net", "fabrikam.co", "mailbox.org", "studio-k.de",
           "lumen.app")

THANKS = ("", "", "Thanks!", "Thanks.", "Cheers.")
PLEASE = ("", "please", "Please", "Could you")


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email(rng: random.Random, name: str | None = None) -> str:
    first = (name or rng.choice(FIRST_NAMES)).split()[0]
    ascii_first = ascii_lower(first) or "user"
    return f"{ascii_first}@{rng.choice(DOMAINS)}"


def ascii_lower(text: str) -> str:
    """'Tomás' -> 'tomas': how a name becomes part of an email or username."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


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


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def spoken_date(rng: random.Random, iso: str) -> str:
    """A YYYY-MM-DD date as a user might write it (the call still needs the ISO form)."""
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:])
    month = _MONTHS[m - 1]
    return rng.choice((iso, iso, f"{month} {d}, {y}", f"{d} {month} {y}", f"{month[:3]} {d} {y}", f"{d}/{m}/{y}"
                       if d > 12 else iso))


def spoken_time(rng: random.Random, text: str) -> str:
    """An HH:MM time as a user might say it."""
    h, m = divmod(minutes(text), 60)
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return rng.choice((text, text, f"{h12}:{m:02d} {suffix}", f"{h12}{suffix}" if m == 0 else f"{h12}:{m:02d}{suffix}"))
