"""A smart home: lights and thermostats in rooms, some of them offline."""

from __future__ import annotations

import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, boolean, integer, number, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import choose, join

_ROOMS = ("kitchen", "living room", "bedroom", "office", "hallway", "bathroom", "nursery", "garage", "dining room",
          "guest room", "attic", "porch")
_LIGHTS = ("ceiling light", "lamp", "spotlights", "strip", "pendant", "reading light", "floor lamp", "wall sconce",
           "night light")


class Home(ToolEnv):
    NAME = "home"

    @classmethod
    def random(cls, rng: random.Random) -> "Home":
        state = {"devices": {}, "limits": [rng.choice((5, 10, 12)), rng.choice((26, 28, 30))]}
        n = rng.randint(1, 60)
        for room in rng.sample(_ROOMS, 3):
            for light in rng.sample(_LIGHTS, rng.randint(1, 3)):
                n += 1
                state["devices"][f"light-{n}"] = {"kind": "light", "room": room, "name": light, "online": rng.random() > 0.1,
                                                 "on": rng.random() < 0.5, "brightness": rng.choice((20, 50, 80, 100))}
            if rng.random() < 0.7:
                n += 1
                state["devices"][f"thermo-{n}"] = {"kind": "thermostat", "room": room, "name": "thermostat", "online": True,
                                                  "target_c": rng.choice((18, 19.5, 20, 21, 22)), "current_c": rng.randint(15, 24)}
        return cls(state)

    def _device(self, device_id: str, kind: str) -> dict:
        d = self.state["devices"].get(device_id)
        if d is None:
            raise ToolError(f"no device '{device_id}'")
        if d["kind"] != kind:
            raise ToolError(f"{device_id} is a {d['kind']}, not a {kind}")
        if not d["online"]:
            raise ToolError(f"{device_id} ({d['room']} {d['name']}) is offline")
        return d

    @tool("List smart-home devices, optionally in one room.", names=("home_devices", "list_smart_devices", "getDevices"),
          room=string("Room name, e.g. kitchen"))
    def home_devices(self, room: str | None = None) -> dict:
        out = []
        for device_id, d in self.state["devices"].items():
            if room is None or d["room"] == room.lower():
                view = {"device_id": device_id, "room": d["room"], "name": d["name"], "online": d["online"]}
                view.update({"on": d["on"]} if d["kind"] == "light" else {"target_c": d["target_c"]})
                out.append(view)
        return {"devices": out}

    @tool("Turn a light on or off, optionally setting its brightness.", names=("switch_light", "set_lamp", "toggleLight"),
          required=("device_id", "on"), device_id=string("Light id, e.g. light-12"), on=boolean("true to turn on"),
          brightness=integer("Brightness in percent, 1-100", minimum=1, maximum=100))
    def switch_light(self, device_id: str, on: bool, brightness: int | None = None) -> dict:
        d = self._device(device_id, "light")
        if brightness is not None and not 1 <= brightness <= 100:
            raise ToolError("brightness must be between 1 and 100")
        d["on"] = on
        if brightness is not None:
            d["brightness"] = brightness
        return {"device_id": device_id, "on": on, "brightness": d["brightness"]}

    @tool("Set a thermostat's target temperature in °C.", names=("set_thermostat", "adjust_heating", "setTargetTemperature"),
          required=("device_id", "target_c"), device_id=string("Thermostat id"), target_c=number("Target in degrees Celsius"))
    def set_thermostat(self, device_id: str, target_c: float) -> dict:
        d = self._device(device_id, "thermostat")
        low, high = self.state["limits"]
        if not low <= target_c <= high:
            raise ToolError(f"target {target_c:g} °C is outside the allowed range {low}-{high} °C")
        d["target_c"] = target_c
        return {"device_id": device_id, "target_c": target_c, "current_c": d["current_c"]}


def _room_with(env: Home, rng: random.Random, kind: str, online: bool | None = None) -> str | None:
    rooms = sorted({d["room"] for d in env.state["devices"].values()
                    if d["kind"] == kind and (online is None or d["online"] == online)})
    return rng.choice(rooms) if rooms else None


def lights_off(rng: random.Random) -> tuple[Episode, bool]:
    """Switch a room's lights in one parallel turn; offline ones (the listing says so) are reported, not tried."""
    env = Home.random(rng)
    room = _room_with(env, rng, "light")
    on = rng.random() < 0.5
    ep = Episode(env, rng, ["home_devices", "switch_light"])
    state = "on" if on else "off"
    ep.user(choose(rng, f"Turn {state} all the lights in the {room}.", f"switch the {room} lights {state}",
                   f"Can you turn every light in the {room} {state}?"))
    devices = ep.one("home_devices", {"room": room})["devices"]
    lights = [d for d in devices if "on" in d and d["online"]]
    if not lights:
        return ep, False
    results = ep.call(*[("switch_light", {"device_id": d["device_id"], "on": on}) for d in lights])
    done = [d["name"] for d in lights]
    broken = [f"{d['name']} ({d['device_id']})" for d in devices if "on" in d and not d["online"]]
    text = f"Turned {state} the {room} {join(done)}."
    if broken:
        text += f" The {join(broken)} {'is' if len(broken) == 1 else 'are'} offline, so I couldn't reach {'it' if len(broken) == 1 else 'them'}."
    ep.say(text)
    ok = all(d["on"] == on for d in env.state["devices"].values() if d["room"] == room and d["kind"] == "light" and d["online"])
    return ep, ok and not any(failed(r) for r in results)


def comfort(rng: random.Random) -> tuple[Episode, bool]:
    """Two independent changes in two rooms: look the ids up, then act in one parallel turn."""
    env = Home.random(rng)
    warm = _room_with(env, rng, "thermostat")
    lit = next((d for d in env.state["devices"].values() if d["kind"] == "light" and d["online"] and d["room"] != warm), None)
    if warm is None or lit is None:
        return Episode(env, rng, []), False
    low, high = env.state["limits"]
    target = rng.choice((19, 20, 20.5, 21, 22, 23))
    level = rng.choice((10, 25, 30, 40, 60, 75))
    ep = Episode(env, rng, ["home_devices", "set_thermostat", "switch_light"])
    ep.user(choose(rng, f"Set the {warm} to {target:g} degrees and dim the {lit['room']} {lit['name']} to {level}%.",
                   f"{warm} heating to {target:g}°C please, and put the {lit['name']} in the {lit['room']} at {level}% brightness",
                   f"I'd like the {warm} at {target:g} °C, and the {lit['room']} {lit['name']} on at {level} percent."))
    devices = ep.one("home_devices", {})["devices"]
    thermo = next(d for d in devices if d["room"] == warm and "target_c" in d)
    light = next(d for d in devices if d["room"] == lit["room"] and d["name"] == lit["name"])
    t, lamp = ep.call(("set_thermostat", {"device_id": thermo["device_id"], "target_c": target}),
                      ("switch_light", {"device_id": light["device_id"], "on": True, "brightness": level}))
    ep.say(f"The {warm} thermostat is set to {t['target_c']:g} °C (it's {t['current_c']:g} °C now), and the "
           f"{lit['room']} {lit['name']} is on at {lamp['brightness']}%.")
    return ep, low <= target <= high and ep.errors == 0


def too_hot(rng: random.Random) -> tuple[Episode, bool]:
    """A target outside the thermostat's range: tell the user the range, set what they choose."""
    env = Home.random(rng)
    room = _room_with(env, rng, "thermostat")
    if room is None:
        return Episode(env, rng, []), False
    low, high = env.state["limits"]
    wanted = rng.choice((high + rng.randint(1, 5), low - rng.randint(1, 4)))
    ep = Episode(env, rng, ["home_devices", "set_thermostat"])
    ep.user(choose(rng, f"Set the {room} thermostat to {wanted}.", f"make the {room} {wanted} degrees",
                   f"{room} heating to {wanted} °C"))
    devices = ep.one("home_devices", {"room": room})["devices"]
    thermo = next(d for d in devices if "target_c" in d)
    ep.one("set_thermostat", {"device_id": thermo["device_id"], "target_c": wanted})
    edge = high if wanted > high else low
    ep.say(f"The {room} thermostat only accepts {low}-{high} °C, so I couldn't set {wanted}. Should I set it to {edge} °C instead?")
    ep.user(choose(rng, "Yes, do that.", f"ok, {edge} then", "Sure."))
    res = ep.one("set_thermostat", {"device_id": thermo["device_id"], "target_c": edge})
    ep.say(f"Done: the {room} thermostat is now set to {res['target_c']:g} °C.")
    return ep, env.state["devices"][thermo["device_id"]]["target_c"] == edge and ep.errors == 1


def unsupported(rng: random.Random) -> tuple[Episode, bool]:
    """A device kind the tools do not control: answer in text, no call."""
    env = Home.random(rng)
    ep = Episode(env, rng, ["home_devices", "switch_light", "set_thermostat"])
    ask = rng.choice(("Open the garage door.", "start the robot vacuum in the kitchen", "Lock the front door please.",
                      "Turn on the TV in the living room.", "close the bedroom blinds"))
    ep.user(ask)
    ep.say(choose(rng, "I can't do that: the tools I have only control lights and thermostats.",
                  "Sorry, that device isn't something I can control. I can switch lights and set thermostats."))
    return ep, True


SCENARIOS = {"lights_off": lights_off, "unsupported": unsupported, "comfort": comfort, "too_hot": too_hot}
