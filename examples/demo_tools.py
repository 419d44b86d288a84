"""Tools for the README's demo episode: `agent chat --tools examples/demo_tools.py ...`."""

from typing import Literal

CITY_WEATHER = {"paris": (18.0, "cloudy"), "london": (14.5, "rain"), "tokyo": (22.0, "sunny")}


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get the current weather in a city.

    Args:
        city: The city name, e.g. "Paris".
        unit: Temperature unit.
    """
    if city.lower() not in CITY_WEATHER:
        raise ValueError(f"unknown city {city!r}; known: {', '.join(sorted(CITY_WEATHER))}")
    temp, sky = CITY_WEATHER[city.lower()]
    if unit == "fahrenheit":
        temp = temp * 9 / 5 + 32
    return {"city": city, "temperature": temp, "unit": unit, "sky": sky}


def multiply(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: The first factor.
        b: The second factor.
    """
    return a * b
