"""A calendar: events by day, free slots, invitations and cancellations."""

from __future__ import annotations

import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, array, integer, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import (
    choose, date, email, hhmm, join, minutes, person, spoken_date, spoken_time)

_TITLES = ("Standup", "Design review", "Dentist", "1:1 with manager", "Budget sync", "Lunch with Ana", "Gym",
           "Client call", "Sprint planning", "Yoga class", "Interview", "Team retro", "Doctor", "Parent meeting",
           "Piano lesson", "Car service", "Physio", "Book club", "Board meeting", "Haircut", "Code review", "All-hands")
_NEW = ("Project kickoff", "Coffee chat", "Vendor demo", "Roadmap review", "Hiring sync", "Call with the bank",
        "Quarterly review", "Onboarding session", "Lunch with Omar", "Tax advisor", "Study group", "Pitch rehearsal",
        "Landlord visit", "Sales sync")
DAY_START, DAY_END = 9 * 60, 18 * 60


class Agenda(ToolEnv):
    NAME = "agenda"

    @classmethod
    def random(cls, rng: random.Random, days: int = 2) -> "Agenda":
        state = {"events": {}, "next_id": rng.randint(100, 900)}
        env = cls(state)
        first = date(rng)
        for d in range(days):
            day = f"{first[:8]}{int(first[8:]) + d:02d}"
            for title in rng.sample(_TITLES, rng.randint(2, 4)):
                start = rng.randrange(DAY_START, DAY_END - 60, 30)
                try:
                    env.schedule_event(title, day, hhmm(start), rng.choice((30, 60, 90)))
                except ToolError:
                    pass  # the random pick overlapped: that day just gets fewer events
        return env

    def _day(self, day: str) -> list[dict]:
        return sorted(({"event_id": k, **v} for k, v in self.state["events"].items() if v["date"] == day),
                      key=lambda e: e["start"])

    def _event(self, event_id: str) -> dict:
        if event_id not in self.state["events"]:
            raise ToolError(f"no event with id '{event_id}'")
        return self.state["events"][event_id]

    @tool("List the events on one day.", names=("events_on_day", "get_day_schedule", "listEventsForDate"),
          required=("date",), date=string("Day in YYYY-MM-DD format"))
    def events_on_day(self, date: str) -> dict:
        return {"events": [{k: e[k] for k in ("event_id", "title", "start", "end")} for e in self._day(date)]}

    @tool("Add a calendar event; fails if it overlaps another one.",
          names=("schedule_event", "create_calendar_entry", "addEvent"), required=("title", "date", "start", "duration_minutes"),
          title=string("Event title"), date=string("Day in YYYY-MM-DD format"), start=string("Start time, HH:MM (24h)"),
          duration_minutes=integer("Length in minutes"),
          attendees=array("Emails to invite", {"type": "string"}))
    def schedule_event(self, title: str, date: str, start: str, duration_minutes: int, attendees: list | None = None) -> dict:
        try:
            begin = minutes(start)
        except ValueError:
            raise ToolError(f"start must be HH:MM, got '{start}'") from None
        end = begin + duration_minutes
        if end > 24 * 60:
            raise ToolError("the event must end before midnight")
        for e in self._day(date):
            if begin < minutes(e["end"]) and minutes(e["start"]) < end:
                raise ToolError(f"conflicts with {e['event_id']} '{e['title']}' ({e['start']}-{e['end']})")
        event_id = f"EV-{self.state['next_id']}"
        self.state["next_id"] += 1
        self.state["events"][event_id] = {"title": title, "date": date, "start": hhmm(begin), "end": hhmm(end),
                                          "attendees": list(attendees or [])}
        return {"event_id": event_id, "start": hhmm(begin), "end": hhmm(end)}

    @tool("Free slots of at least a given length on a day (09:00-18:00).",
          names=("open_slots", "find_free_time", "freeSlots"), required=("date", "duration_minutes"),
          date=string("Day in YYYY-MM-DD format"), duration_minutes=integer("Slot length in minutes"))
    def open_slots(self, date: str, duration_minutes: int) -> dict:
        slots, cursor = [], DAY_START
        for e in self._day(date) + [{"start": hhmm(DAY_END), "end": hhmm(DAY_END)}]:
            if minutes(e["start"]) - cursor >= duration_minutes:
                slots.append({"start": hhmm(cursor), "end": e["start"]})
            cursor = max(cursor, minutes(e["end"]))
        return {"slots": slots}

    @tool("Cancel an event.", names=("cancel_event", "drop_calendar_entry", "removeEvent"), required=("event_id",),
          event_id=string("Event id, e.g. EV-120"))
    def cancel_event(self, event_id: str) -> dict:
        e = self._event(event_id)
        del self.state["events"][event_id]
        return {"cancelled": event_id, "title": e["title"]}

    @tool("Invite people to an existing event.", names=("invite_people", "add_guests", "inviteAttendees"),
          required=("event_id", "emails"), event_id=string("Event id"), emails=array("Email addresses", {"type": "string"}))
    def invite_people(self, event_id: str, emails: list) -> dict:
        e = self._event(event_id)
        already = [m for m in emails if m in e["attendees"]]
        if already:
            raise ToolError(f"already invited: {', '.join(already)}")
        e["attendees"] += emails
        return {"event_id": event_id, "attendees": e["attendees"]}


def _days(env: Agenda) -> list[str]:
    return sorted({e["date"] for e in env.state["events"].values()})


def _agenda_line(events: list[dict]) -> str:
    return join([f"{e['title']} {e['start']}-{e['end']}" for e in events]) or "nothing"


def two_days(rng: random.Random) -> tuple[Episode, bool]:
    env = Agenda.random(rng)
    d1, d2 = _days(env)[:2]
    says_d1, says_d2 = spoken_date(rng, d1), spoken_date(rng, d2)
    ep = Episode(env, rng, ["events_on_day"])
    ep.user(choose(rng, f"What's on my calendar on {says_d1} and {says_d2}?", f"show my schedule for {says_d1} and {says_d2}",
                   f"Do I have anything on {says_d1} or {says_d2}?"))
    r1, r2 = ep.call(("events_on_day", {"date": d1}), ("events_on_day", {"date": d2}))
    ep.say(f"On {d1}: {_agenda_line(r1['events'])}.\nOn {d2}: {_agenda_line(r2['events'])}.")
    if rng.random() < 0.5:  # a follow-up the results already answer: no call
        ep.user(choose(rng, f"When does my first thing start on {says_d2}?", f"what time do I need to be ready on {says_d2}?"))
        first = r2["events"][0]
        ep.say(f"Your first event on {d2} is {first['title']} at {first['start']}.")
    return ep, bool(r1["events"]) and bool(r2["events"])


def book(rng: random.Random) -> tuple[Episode, bool]:
    """Book at a time that may clash: on a conflict, offer the free slots and book the one the user picks."""
    env = Agenda.random(rng)
    day = _days(env)[0]
    says_day = spoken_date(rng, day)
    busy = rng.choice(env._day(day))
    clash = rng.random() < 0.6
    length = rng.choice((30, 45, 60))
    start = busy["start"] if clash else hhmm(rng.randrange(DAY_START, DAY_END - 60, 15))
    says_start = spoken_time(rng, start)
    title, guest = rng.choice(_NEW), person(rng)
    mail = email(rng, guest)
    ep = Episode(env, rng, ["schedule_event", "open_slots"])
    ep.user(choose(rng, f"Schedule '{title}' on {says_day} at {says_start} for {length} minutes and invite {mail}.",
                   f"Put a {length}-minute {title} on {says_day} at {says_start}, with {mail}.",
                   f"Book {title} for {length} min on {says_day}, {says_start}; add {mail}"))
    args = {"title": title, "date": day, "start": start, "duration_minutes": length, "attendees": [mail]}
    res = ep.one("schedule_event", args)
    if failed(res):
        slots = ep.one("open_slots", {"date": day, "duration_minutes": length})["slots"]
        if not slots:
            return ep, False
        listed = join([f"{s['start']}-{s['end']}" for s in slots])
        ep.say(f"{start} is taken: it {res['error']}. Free slots of {length} minutes on {day}: {listed}. Which time works?")
        args["start"] = rng.choice(slots)["start"]
        ep.user(choose(rng, f"{args['start']} then.", f"Let's do {args['start']}.", f"ok, book it at {args['start']}"))
        res = ep.one("schedule_event", args)
    ep.say(choose(rng, f"Booked '{title}' on {day}, {res['start']}-{res['end']} ({res['event_id']}), and invited {mail}.",
                  f"'{title}' is scheduled for {day} from {res['start']} to {res['end']} with {mail} invited (event {res['event_id']})."))
    ok = any(e["title"] == title and e["attendees"] == [mail] for e in env.state["events"].values())
    return ep, ok and not failed(res) and ep.errors <= 1


def cancel_by_title(rng: random.Random) -> tuple[Episode, bool]:
    env = Agenda.random(rng)
    day = _days(env)[0]
    says_day = spoken_date(rng, day)
    target = rng.choice(env._day(day))
    ep = Episode(env, rng, ["events_on_day", "cancel_event"])
    ep.user(choose(rng, f"Cancel my {target['title']} on {says_day}.", f"I can't make the {target['title']} on {says_day}, please remove it",
                   f"drop {target['title']} from {says_day}"))
    events = ep.one("events_on_day", {"date": day})["events"]
    match = next(e for e in events if e["title"] == target["title"])
    res = ep.one("cancel_event", {"event_id": match["event_id"]})
    ep.say(choose(rng, f"Cancelled {res['title']} on {day} ({match['start']}-{match['end']}).",
                  f"Your {res['title']} at {match['start']} on {day} is cancelled.", f"Done, {res['title']} ({day}, {match['start']}) has been removed."))
    return ep, target["event_id"] not in env.state["events"]


def invite(rng: random.Random) -> tuple[Episode, bool]:
    env = Agenda.random(rng)
    day = _days(env)[-1]
    says_day = spoken_date(rng, day)
    target = rng.choice(env._day(day))
    mails = sorted({email(rng) for _ in range(rng.randint(1, 2))})
    ep = Episode(env, rng, ["events_on_day", "invite_people"])
    ep.user(choose(rng, f"Invite {join(mails)} to the {target['title']} on {says_day}.",
                   f"Add {join(mails)} to my {target['title']} meeting on {says_day}", f"{target['title']} on {says_day}: please invite {join(mails)}"))
    events = ep.one("events_on_day", {"date": day})["events"]
    match = next(e for e in events if e["title"] == target["title"])
    res = ep.one("invite_people", {"event_id": match["event_id"], "emails": mails})
    ep.say(f"Invited {join(mails)} to {target['title']} ({match['start']}-{match['end']}). Attendees now: {join(res['attendees'])}.")
    return ep, set(mails) <= set(env.state["events"][target["event_id"]]["attendees"])


def free_then_book(rng: random.Random) -> tuple[Episode, bool]:
    """Two user turns: ask for free time, then book one of the slots."""
    env = Agenda.random(rng)
    day = _days(env)[0]
    says_day = spoken_date(rng, day)
    length = rng.choice((30, 45, 60, 90))
    ep = Episode(env, rng, ["open_slots", "schedule_event"])
    ep.user(choose(rng, f"When am I free for {length} minutes on {says_day}?", f"find me a {length} minute gap on {says_day}",
                   f"Any free {length}-minute slots on {says_day}?"))
    slots = ep.one("open_slots", {"date": day, "duration_minutes": length})["slots"]
    if not slots:
        return ep, False
    ep.say(f"You're free on {day} at: {join([s['start'] + '-' + s['end'] for s in slots])}.")
    pick = rng.randrange(len(slots))
    title = rng.choice(_NEW)
    ordinal = ("first", "second", "third")[pick] if pick < 3 and rng.random() < 0.5 else slots[pick]["start"]
    ep.user(choose(rng, f"Book the {ordinal} one for '{title}'." if not ordinal[0].isdigit() else f"Book '{title}' at {ordinal}.",
                   f"Put '{title}' in at {slots[pick]['start']}."))
    res = ep.one("schedule_event", {"title": title, "date": day, "start": slots[pick]["start"], "duration_minutes": length})
    ep.say(f"Done: '{title}' is on {day} from {res['start']} to {res['end']} ({res['event_id']}).")
    return ep, not failed(res) and ep.errors == 0


def cancel_missing(rng: random.Random) -> tuple[Episode, bool]:
    """The named event is not on that day: say what is there and let the user pick."""
    env = Agenda.random(rng)
    day = _days(env)[0]
    says_day = spoken_date(rng, day)
    events = env._day(day)
    absent = rng.choice([t for t in _TITLES if t not in {e["title"] for e in events}])
    target = rng.choice(events)
    ep = Episode(env, rng, ["events_on_day", "cancel_event"])
    ep.user(choose(rng, f"Cancel the {absent} on {says_day}.", f"please remove my {absent} from {says_day}"))
    listed = ep.one("events_on_day", {"date": day})["events"]
    ep.say(f"I don't see a {absent} on {day}. That day has {_agenda_line(listed)}. Which one should I cancel, if any?")
    ep.user(choose(rng, f"Oh, I meant the {target['title']}.", f"Sorry, the {target['title']} one.", f"{target['title']}."))
    match = next(e for e in listed if e["title"] == target["title"])
    res = ep.one("cancel_event", {"event_id": match["event_id"]})
    ep.say(f"Cancelled {res['title']} ({match['start']}-{match['end']}) on {day}.")
    return ep, target["event_id"] not in env.state["events"] and len(env.state["events"]) == len(ep.initial["events"]) - 1


SCENARIOS = {"two_days": two_days, "cancel_missing": cancel_missing, "book": book, "cancel_by_title": cancel_by_title, "invite": invite,
             "free_then_book": free_then_book}
