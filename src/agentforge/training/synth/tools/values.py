"""Argument values: what a parameter can hold and how a user would say it.

A *kind* draws a typed value (what goes into the gold call) together with the
text a user would write for it (what goes into the query). Pools are written
here, small and varied; the combinations make the variety.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

_SMALL = "zero one two three four five six seven eight nine ten eleven twelve".split()


def _pool(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(";") if s.strip())


POOLS: dict[str, tuple[str, ...]] = {
    "city": _pool("Lisbon;Nairobi;Osaka;Quito;Tallinn;Perth;Montreal;Accra;Hanoi;Bergen;Cusco;Valencia;Krakow;"
                  "Da Nang;Porto;Adelaide;Marrakesh;Ljubljana;Cebu;Winnipeg;Tbilisi;Gdansk;Leeds;Medellin;Izmir;"
                  "Bilbao;Salzburg;Kyoto;Durban;Halifax;Aarhus;Cork;Trieste;Busan;Lyon;Graz;Asuncion;Split;"
                  "Kumasi;Arequipa;Chiang Mai;Tromso;Oaxaca;Hobart;Zanzibar City;Plovdiv;Ghent;Sapporo;Coimbra;Mendoza"),
    "country": _pool("Portugal;Kenya;Japan;Ecuador;Estonia;Canada;Ghana;Vietnam;Norway;Peru;Poland;Morocco;Slovenia;"
                     "Georgia;Colombia;Turkey;Austria;Ireland;Chile;Iceland;Uruguay;Finland;Malaysia;Jordan;Namibia"),
    "person": _pool("Amara Okafor;Liam Brennan;Sofia Marquez;Kenji Watanabe;Priya Raman;Tomasz Nowak;Elena Petrova;"
                    "Noah Fischer;Aisha Bello;Mateo Rossi;Hana Kim;Oliver Grant;Zara Haddad;Lucas Moreau;Ines Duarte;"
                    "Ravi Menon;Freya Lindqvist;Omar Farouk;Chloe Dubois;Yusuf Demir;Maya Levin;Diego Salas;"
                    "Nadia Haddou;Felix Baumann;Lucia Ferraro;Tariq Aziz;Mei Lin;Jonas Berg;Adaeze Nwosu;Pablo Ortega"),
    "first": _pool("Amara;Liam;Sofia;Kenji;Priya;Tomasz;Elena;Noah;Aisha;Mateo;Hana;Oliver;Zara;Lucas;Ines;Ravi;Freya"),
    "company": _pool("Brightwave Labs;Northwind Freight;Juniper Analytics;Copperleaf Foods;Halcyon Motors;"
                     "Bluefin Energy;Orchard Health;Ironbark Systems;Silverline Media;Tidepool Games;Kestrel Bank"),
    "ticker": _pool("BRWV;NWFR;JNPR;CPLF;HLCN;BLFN;ORCH;IRBK;SLVM;TDPL;KSTB"),
    "currency": _pool("USD;EUR;JPY;GBP;CHF;CAD;AUD;SEK;NOK;BRL;INR;ZAR;MXN;KRW"),
    "airport": _pool("LIS;NBO;KIX;UIO;TLL;PER;YUL;ACC;HAN;BGO;CUZ;VLC;KRK;OPO;ADL;RAK"),
    "lang": _pool("Spanish;French;Japanese;Swahili;Polish;Portuguese;Korean;Turkish;German;Italian;Vietnamese;Hindi"),
    "color": _pool("teal;crimson;ochre;navy;olive;coral;charcoal;ivory;lavender;mustard"),
    "dish": _pool("mushroom risotto;lentil soup;chicken tagine;pad see ew;shakshuka;beef bourguignon;vegetable curry;"
                  "fish tacos;spinach lasagna;miso ramen;stuffed peppers;lemon tart"),
    "ingredient": _pool("chickpeas;basil;salmon;quinoa;eggplant;ginger;tofu;feta;spinach;lentils;mango;oats;walnuts"),
    "cuisine": _pool("Ethiopian;Peruvian;Thai;Lebanese;Georgian;Korean;Mexican;Greek;Vietnamese;Sicilian"),
    "song": _pool("Paper Lanterns;Midnight Ferry;Golden Hour Drive;Salt and Cedar;Neon Harbor;Quiet Orbit;Glass Rivers"),
    "artist": _pool("The Velvet Owls;Mira Sand;Northbound Choir;Luka Vey;Tessa Quill;Radio Meadow;Ambre Lune"),
    "movie": _pool("The Lighthouse Keeper;Echoes of Mars;Parallel Tides;The Last Cartographer;Winter Signal;Copper Sky"),
    "book": _pool("The Silent Archive;Rivers of Ink;A Map of Small Things;The Clockmaker's Daughter;Salt Roads"),
    "team": _pool("Riverside Hawks;Northgate Rovers;Harbor City FC;Summit Bears;Eastfield Comets;Lakeside Wolves"),
    "sport": _pool("basketball;tennis;cricket;volleyball;rugby;handball;badminton;table tennis;ice hockey"),
    "element": _pool("carbon;nitrogen;sodium;iron;copper;zinc;neon;argon;silicon;calcium;lithium;sulfur"),
    "compound": _pool("C6H12O6;NaCl;H2SO4;CaCO3;NH3;CH4;C2H5OH;KMnO4;NaHCO3;MgSO4"),
    "species": _pool("red fox;snow leopard;bottlenose dolphin;monarch butterfly;emperor penguin;gray wolf;koala"),
    "planet": _pool("Mercury;Venus;Mars;Jupiter;Saturn;Uranus;Neptune"),
    "star": _pool("Vega;Sirius;Betelgeuse;Rigel;Altair;Deneb;Arcturus;Polaris;Antares"),
    "symptom": _pool("headache;sore throat;fatigue;dizziness;back pain;rash;cough;nausea"),
    "drug": _pool("ibuprofen;amoxicillin;metformin;loratadine;omeprazole;cetirizine;paracetamol"),
    "department": _pool("engineering;marketing;finance;sales;support;legal;design;operations"),
    "job": _pool("data analyst;nurse;backend engineer;accountant;graphic designer;electrician;teacher;pharmacist"),
    "skill": _pool("Python;SQL;negotiation;Kubernetes;public speaking;Excel;Figma;copywriting"),
    "product": _pool("wireless earbuds;standing desk;espresso grinder;trail running shoes;mechanical keyboard;"
                     "yoga mat;air purifier;camping stove;e-reader;robot vacuum"),
    "sku": _pool("SKU-10482;SKU-22917;SKU-30551;SKU-47106;SKU-58830;SKU-61274;SKU-79013"),
    "order_id": _pool("ORD-88213;ORD-40177;ORD-95520;ORD-13096;ORD-67741;ORD-29308"),
    "email": _pool("amara.okafor@example.com;liam@brightwave.io;sofia.m@example.org;ops@northwind.dev;"
                   "hana.kim@example.net;ravi.menon@example.com"),
    "username": _pool("skyrunner42;maple_dev;quietfox;data_wren;lunarmoth;pixel_oak;ravenbyte"),
    "host": _pool("web-01.internal;db-primary.prod;cache-3.staging;api.eu-west.example.com;worker-7.internal"),
    "service": _pool("checkout-api;auth-service;billing-worker;search-indexer;notification-hub;image-resizer"),
    "image": _pool("nginx:1.27;postgres:16;redis:7.2;python:3.12-slim;node:20-alpine;grafana/grafana:11.0"),
    "branch": _pool("main;develop;feature/login-form;fix/null-pointer;release/2.4;hotfix/payment-timeout"),
    "repo": _pool("acme/webapp;openlab/parser;tidepool/engine;kestrel/ledger;orchard/mobile"),
    "path": _pool("/var/log/app.log;/home/ana/notes.txt;/etc/nginx/nginx.conf;/data/exports/q3.csv;"
                  "reports/summary.md;src/main.py"),
    "table": _pool("customers;orders;invoices;shipments;employees;events;sessions;payments"),
    "column": _pool("created_at;email;status;amount;country;last_login;total_price;region"),
    "street": _pool("12 Harbor Lane;48 Elm Street;301 King Road;7 Mill Court;92 Ocean Drive;15 Cedar Avenue"),
    "zip": _pool("10115;94107;75008;2000;110001;M5V 2T6;SW1A 1AA"),
    "genre": _pool("jazz;science fiction;documentary;thriller;folk;hip hop;fantasy;classical;comedy"),
    "instrument": _pool("cello;ukulele;trumpet;piano;violin;drum kit;saxophone;harp"),
    "subject": _pool("algebra;organic chemistry;world history;microeconomics;statistics;poetry;biology"),
    "course": _pool("CS101;MATH204;HIST110;BIO150;ECON201;PHYS120;STAT230"),
    "event": _pool("the French Revolution;the fall of Constantinople;the Meiji Restoration;the Apollo 11 landing;"
                   "the signing of the Magna Carta;the invention of the printing press"),
    "game": _pool("chess;Go;Catan;Sudoku;Scrabble;Minecraft;Hollow Knight;Stardew Valley"),
    "vehicle": _pool("delivery van;cargo bike;box truck;electric scooter;semi trailer"),
    "crop": _pool("wheat;maize;soybeans;barley;coffee;cocoa;rice;potatoes"),
    "plant": _pool("monstera;lavender;tomato;basil;fiddle leaf fig;snake plant;orchid"),
    "word": _pool("serendipity;ephemeral;ubiquitous;meticulous;resilient;candid;lucid;verbose"),
    "topic": _pool("renewable energy;remote work;urban gardening;ocean plastics;quantum computing;sleep science"),
    "mineral": _pool("quartz;feldspar;mica;calcite;gypsum;olivine;garnet"),
    "hotel": _pool("Harborview Inn;The Cedar Lodge;Casa Azul;Hotel Meridian;Alpine Rest;The Lantern House"),
    "restaurant": _pool("Olive & Thyme;The Copper Pot;Saffron House;Blue Door Bistro;Noodle Theory;Casa Lupe"),
    "license": _pool("MIT;Apache-2.0;GPL-3.0;BSD-3-Clause;MPL-2.0"),
    "breed": _pool("beagle;border collie;maine coon;siamese;labrador;shiba inu;dachshund"),
    "statute": _pool("tenancy deposit rules;overtime pay rules;data retention rules;noise ordinances;zoning setbacks"),
    "phone": _pool("+1-415-555-0142;+44 20 7946 0958;+81 3-5550-1234;+351 21 555 0199"),
    "timezone": _pool("Europe/Lisbon;Asia/Tokyo;America/Toronto;Africa/Nairobi;Australia/Perth;UTC"),
    "font": _pool("Inter;Merriweather;Fira Code;Lato;Source Serif"),
    "expr": _pool("x**2 + 3*x;3*x**3 - 2*x;sin(x) * x;exp(-x) + 1;2*x + 5;x**4 - 16;sqrt(x) + x;log(x + 1);"
                  "cos(2*x);x**3 - x**2 + 4;1/(1 + x**2);5*x**2 - 7"),
    "reaction": _pool("H2 + O2 -> H2O;Fe + O2 -> Fe2O3;CH4 + O2 -> CO2 + H2O;Al + Cl2 -> AlCl3;N2 + H2 -> NH3;"
                      "C3H8 + O2 -> CO2 + H2O"),
    "weekday": _pool("Monday;Tuesday;Wednesday;Thursday;Friday;Saturday;Sunday"),
    "month": _pool("January;February;March;April;May;June;July;August;September;October;November;December"),
}
# Pools whose values users tend to put in quotes.
QUOTED = {"song", "movie", "book", "word", "expr", "reaction"}


@dataclass(frozen=True)
class Kind:
    """A parameter's value kind. `draw(rng)` -> (value, text)."""

    type: str  # JSON schema type
    draw: Callable[[random.Random], tuple[Any, str]]
    items: "Kind | None" = None  # arrays
    fields: tuple[tuple[str, "Kind"], ...] = ()  # objects
    enum: tuple[str, ...] = ()
    fmt: str = ""  # a format note for the parameter description


_ROUND = {15: "fifteen", 20: "twenty", 24: "twenty-four", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty",
          100: "a hundred", 1000: "a thousand"}


def number_words(n: int, rng: random.Random) -> str:
    """Digits mostly; small and round numbers now and then in words."""
    words = _SMALL[n] if 0 <= n < len(_SMALL) else _ROUND.get(n)
    return words if words and rng.random() < 0.3 else str(n)


def _int(lo: int, hi: int) -> Kind:
    def draw(rng):
        v = rng.randint(lo, hi)
        return v, number_words(v, rng)
    return Kind("integer", draw)


def _float(lo: float, hi: float, places: int = 1) -> Kind:
    def draw(rng):
        v = round(rng.uniform(lo, hi), places)
        if v == int(v) and rng.random() < 0.5:
            v = round(v + 0.5, places)
        return float(v), f"{v:.{places}f}".rstrip("0").rstrip(".")  # every digit of the value, no more
    return Kind("number", draw)


def _money(rng):
    v = rng.choice([rng.randint(1, 99) * 50, rng.randint(1, 400) * 25, rng.randint(100, 9999)])
    cents = rng.random() < 0.15
    value = float(v) + (0.5 if cents else 0.0)
    num = f"{value:,.2f}" if cents else (f"{v:,}" if rng.random() < 0.5 else str(v))
    return value, rng.choice([f"${num}", f"{num} dollars", f"${num}", num])


def _pct(rng):
    v = rng.choice([rng.randint(1, 30) / 2, float(rng.randint(1, 12))])
    return float(v), rng.choice([f"{v:g}%", f"{v:g} percent", f"{v:g}%"])


def _year(rng):
    v = rng.randint(1950, 2030)
    return v, str(v)


_MONTHS = POOLS["month"]


def _date(rng):
    y, m, d = rng.randint(2019, 2027), rng.randint(1, 12), rng.randint(1, 28)
    iso = f"{y:04d}-{m:02d}-{d:02d}"
    said = rng.choice([iso, iso, f"{_MONTHS[m - 1]} {d}, {y}", f"{d} {_MONTHS[m - 1]} {y}"])
    return iso, said


def _time(rng):
    h, m = rng.randint(6, 22), rng.choice([0, 0, 15, 30, 45])
    hhmm = f"{h:02d}:{m:02d}"
    twelve = f"{(h - 1) % 12 + 1}{'' if m == 0 else f':{m:02d}'} {'am' if h < 12 else 'pm'}"
    return hhmm, rng.choice([hhmm, twelve])


def _bool(rng):
    v = rng.random() < 0.6
    return v, ""  # booleans are said by their phrase (`yes/no` halves)


def _from_pool(name: str) -> Kind:
    values = POOLS[name]

    def draw(rng):
        v = rng.choice(values)
        text = f"'{v}'" if name in QUOTED and rng.random() < 0.5 else (f'"{v}"' if name in QUOTED else v)
        return v, text
    return Kind("string", draw)


def _enum(spec: str) -> Kind:
    """`a,b,c` or with the words users say for a value: `price_asc=cheapest first/lowest price first,...`."""
    said: dict[str, tuple[str, ...]] = {}
    for option in spec.split(","):
        value, _, aliases = option.strip().partition("=")
        said[value] = tuple(a.strip() for a in aliases.split("/") if a.strip())

    def draw(rng):
        v = rng.choice(tuple(said))
        return v, rng.choice(said[v]) if said[v] and rng.random() < 0.7 else v
    return Kind("string", draw, enum=tuple(said))


def join_words(texts: list[str], rng: random.Random, conj: str = "and") -> str:
    if len(texts) == 1:
        return texts[0]
    comma = "," if rng.random() < 0.4 and len(texts) > 2 else ""
    return ", ".join(texts[:-1]) + f"{comma} {conj} " + texts[-1]


def _vector(size: int, item: Kind) -> Kind:
    def draw(rng):
        values = [item.draw(rng)[0] for _ in range(size)]
        inner = ", ".join(str(v) for v in values)
        return values, f"({inner})" if rng.random() < 0.5 else f"[{inner}]"
    return Kind("array", draw, items=item)


def _array(item: Kind, lo: int = 2, hi: int = 4) -> Kind:
    def draw(rng):
        drawn, seen = [], set()
        for _ in range(rng.randint(lo, hi) * 3):
            v, t = item.draw(rng)
            if repr(v) not in seen:
                seen.add(repr(v))
                drawn.append((v, t))
            if len(drawn) >= hi or (len(drawn) >= lo and rng.random() < 0.4):
                break
        return [v for v, _ in drawn], join_words([t for _, t in drawn], rng)
    return Kind("array", draw, items=item)


def _object(fields: tuple[tuple[str, Kind], ...]) -> Kind:
    def draw(rng):
        parts = [(name, *k.draw(rng)) for name, k in fields]
        return {n: v for n, v, _ in parts}, ", ".join(t for _, _, t in parts)
    return Kind("object", draw, fields=fields)


_SIMPLE: dict[str, Callable[[], Kind]] = {
    "money": lambda: Kind("number", _money),
    "pct": lambda: Kind("number", _pct),
    "year": lambda: Kind("integer", _year),
    "date": lambda: Kind("string", _date, fmt="YYYY-MM-DD"),
    "time": lambda: Kind("string", _time, fmt="HH:MM, 24-hour"),
    "bool": lambda: Kind("boolean", _bool),
}


def parse_kind(spec: str) -> Kind:
    """`int 1 10`, `float 0 5 2`, `enum a,b,c` (`enum a=how users say a/another way,b`), `list city`, `list int 1 9`, `vec 2 int 0 9` (fixed length),
    `obj city=city;country=country`, a pool name, or one of money/pct/year/date/time/bool."""
    head, _, rest = spec.strip().partition(" ")
    if head == "int":
        lo, hi = rest.split()
        return _int(int(lo), int(hi))
    if head == "float":
        parts = rest.split()
        return _float(float(parts[0]), float(parts[1]), int(parts[2]) if len(parts) > 2 else 1)
    if head == "enum":
        return _enum(rest)
    if head == "list":
        return _array(parse_kind(rest))
    if head == "vec":
        size, _, item = rest.partition(" ")
        return _vector(int(size), parse_kind(item))
    if head == "obj":
        return _object(tuple((n.strip(), parse_kind(k)) for n, k in (f.split("=", 1) for f in rest.split(";"))))
    if head in _SIMPLE:
        return _SIMPLE[head]()
    if head in POOLS:
        return _from_pool(head)
    raise ValueError(f"unknown value kind {spec!r}")
