"""A team task tracker: tasks with status, priority, owner and due date."""

from __future__ import annotations

import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import FIRST_NAMES, LAST_NAMES, ascii_lower, choose, date, join

_WORK = ("Fix login redirect", "Write release notes", "Update the pricing page", "Migrate CI to the new runners",
         "Review the Q3 budget", "Order new monitors", "Plan the offsite", "Clean up old feature flags",
         "Translate onboarding emails", "Renew SSL certificates", "Draft the hiring post", "Audit access rights",
         "Prepare the board deck", "Triage customer bugs", "Benchmark the search API", "Rotate API keys",
         "Book venue for the meetup", "Fix flaky checkout test", "Write the Q4 OKRs", "Archive old Slack channels",
         "Update the privacy policy", "Set up error alerts", "Refresh the demo data")
STATUSES = ["open", "in_progress", "done"]
PRIORITIES = ["low", "medium", "high"]


class Tracker(ToolEnv):
    NAME = "tracker"

    @classmethod
    def random(cls, rng: random.Random) -> "Tracker":
        members = {}
        for first in rng.sample(FIRST_NAMES, 4):
            last = rng.choice(LAST_NAMES)
            user = ascii_lower(first[:1] + last)
            members[user] = f"{first} {last}"
        state = {"members": members, "tasks": {}, "next_id": rng.randint(10, 400)}
        env = cls(state)
        for title in rng.sample(_WORK, 7):
            task = env.create_task(title, rng.choice(PRIORITIES), rng.choice(list(members)))
            env.state["tasks"][task["task_id"]]["status"] = rng.choice(STATUSES)
        return env

    def _task(self, task_id: str) -> dict:
        if task_id not in self.state["tasks"]:
            raise ToolError(f"no task with id '{task_id}'")
        return self.state["tasks"][task_id]

    def _member(self, username: str) -> str:
        if username not in self.state["members"]:
            raise ToolError(f"unknown team member '{username}'; valid usernames: "
                            + ", ".join(f"{u} ({n})" for u, n in sorted(self.state["members"].items())))
        return username

    @tool("List the team members and their usernames.", names=("team_members", "list_people", "getTeamRoster"))
    def team_members(self) -> dict:
        return {"members": [{"username": u, "name": n} for u, n in sorted(self.state["members"].items())]}

    @tool("List tasks, optionally filtered by status and assignee.", names=("list_tasks", "query_tasks", "findTasks"),
          status=string("Only tasks in this status", enum=STATUSES), assignee=string("Only tasks of this username"))
    def list_tasks(self, status: str | None = None, assignee: str | None = None) -> dict:
        if assignee is not None:
            self._member(assignee)
        return {"tasks": [{"task_id": k, **{f: x for f, x in v.items() if x is not None}} for k, v in self.state["tasks"].items()
                          if (status is None or v["status"] == status) and (assignee is None or v["assignee"] == assignee)]}

    @tool("Create a task.", names=("create_task", "add_todo", "newTask"), required=("title",), title=string("Short task title"),
          priority=string("Task priority", enum=PRIORITIES, default="medium"),
          assignee=string("Username of the owner"), due=string("Due date, YYYY-MM-DD"))
    def create_task(self, title: str, priority: str = "medium", assignee: str | None = None, due: str | None = None) -> dict:
        if assignee is not None:
            self._member(assignee)
        task_id = f"T-{self.state['next_id']}"
        self.state["next_id"] += 1
        self.state["tasks"][task_id] = {"title": title, "status": "open", "priority": priority, "assignee": assignee,
                                        "due": due}
        return {"task_id": task_id, "status": "open"}

    @tool("Change the status of a task.", names=("set_task_status", "update_task_state", "moveTaskTo"),
          required=("task_id", "status"), task_id=string("Task id, e.g. T-42"), status=string("New status", enum=STATUSES))
    def set_task_status(self, task_id: str, status: str) -> dict:
        task = self._task(task_id)
        if task["status"] == status:
            raise ToolError(f"{task_id} is already {status}")
        old, task["status"] = task["status"], status
        return {"task_id": task_id, "title": task["title"], "from": old, "to": status}

    @tool("Give a task to a team member.", names=("assign_task", "reassign_task", "setTaskOwner"),
          required=("task_id", "assignee"), task_id=string("Task id"), assignee=string("Username of the new owner"))
    def assign_task(self, task_id: str, assignee: str) -> dict:
        task = self._task(task_id)
        task["assignee"] = self._member(assignee)
        return {"task_id": task_id, "title": task["title"], "assignee": assignee}


def create_two(rng: random.Random) -> tuple[Episode, bool]:
    env = Tracker.random(rng)
    (t1, t2), prio, due = rng.sample([w for w in _WORK if w not in {t["title"] for t in env.state["tasks"].values()}], 2), \
        rng.choice(("high", "low")), date(rng)
    ep = Episode(env, rng, ["create_task"])
    ep.user(choose(rng, f"Add two tasks: '{t1}' with {prio} priority, and '{t2}' due {due}.",
                   f"Create tasks '{t1}' ({prio} priority) and '{t2}' (due {due})",
                   f"new tasks please: {t1} — {prio} priority; {t2} — due {due}"))
    r1, r2 = ep.call(("create_task", {"title": t1, "priority": prio}), ("create_task", {"title": t2, "due": due}))
    ep.say(f"Created {r1['task_id']} '{t1}' ({prio} priority) and {r2['task_id']} '{t2}' (due {due}).")
    titles = {t["title"]: t for t in env.state["tasks"].values()}
    return ep, titles.get(t1, {}).get("priority") == prio and titles.get(t2, {}).get("due") == due


def close_all(rng: random.Random) -> tuple[Episode, bool]:
    """By a person's first name: find the username, list their tasks, close them in one parallel turn."""
    env = Tracker.random(rng)
    user = rng.choice(sorted({t["assignee"] for t in env.state["tasks"].values() if t["status"] == "in_progress"} or {""}))
    if not user:
        return Episode(env, rng, []), False
    first = env.state["members"][user].split()[0]
    ep = Episode(env, rng, ["team_members", "list_tasks", "set_task_status"])
    ep.user(choose(rng, f"Mark all of {first}'s in-progress tasks as done.", f"{first} finished everything in progress, close those tasks",
                   f"Set every task {first} is working on to done."))
    members = ep.one("team_members", {})["members"]
    username = next(m["username"] for m in members if m["name"].split()[0] == first)
    tasks = ep.one("list_tasks", {"assignee": username, "status": "in_progress"})["tasks"]
    ep.call(*[("set_task_status", {"task_id": t["task_id"], "status": "done"}) for t in tasks])
    ep.say(f"Marked {len(tasks)} of {first}'s tasks as done: {join([t['task_id'] + ' ' + repr(t['title']) for t in tasks])}.")
    left = [t for t in env.state["tasks"].values() if t["assignee"] == user and t["status"] == "in_progress"]
    names_unique = sum(n.split()[0] == first for n in env.state["members"].values()) == 1
    return ep, not left and names_unique and ep.errors == 0


def reassign(rng: random.Random) -> tuple[Episode, bool]:
    """The user gives a handle that is not a username: the error lists the usernames and the call is retried."""
    env = Tracker.random(rng)
    task_id = rng.choice(list(env.state["tasks"]))
    title = env.state["tasks"][task_id]["title"]
    user = rng.choice([u for u in env.state["members"] if u != env.state["tasks"][task_id]["assignee"]])
    first = env.state["members"][user].split()[0]
    ep = Episode(env, rng, ["assign_task"])
    guess = ascii_lower(first)
    ep.user(choose(rng, f"Assign {task_id} to user {guess}.", f"Give {task_id} to {guess} please (I think that's {first}'s username)",
                   f"{task_id} should go to @{guess}"))
    if guess in env.state["members"]:
        return ep, False
    ep.one("assign_task", {"task_id": task_id, "assignee": guess})
    res = ep.one("assign_task", {"task_id": task_id, "assignee": user})
    ep.say(choose(rng, f"{task_id} '{title}' is now assigned to {first} ({res['assignee']}).",
                  f"Done: {first} (username {res['assignee']}) now owns {task_id}, '{title}'."))
    ok = env.state["tasks"][task_id]["assignee"] == user
    return ep, ok and ep.errors == 1


def my_open_then_start(rng: random.Random) -> tuple[Episode, bool]:
    env = Tracker.random(rng)
    user = rng.choice(sorted({t["assignee"] for t in env.state["tasks"].values() if t["status"] == "open"} or {""}))
    if not user:
        return Episode(env, rng, []), False
    ep = Episode(env, rng, ["list_tasks", "set_task_status"])
    ep.user(choose(rng, f"I'm {user}. What open tasks do I have?", f"list open tasks for {user}", f"What's still open for user {user}?"))
    tasks = ep.one("list_tasks", {"status": "open", "assignee": user})["tasks"]
    listed = join([f"{t['task_id']} '{t['title']}' ({t['priority']} priority)" for t in tasks])
    ep.say(f"You have one open task: {listed}." if len(tasks) == 1 else f"You have {len(tasks)} open tasks: {listed}.")
    pick = rng.choice(tasks)
    ep.user(choose(rng, f"Start {pick['task_id']}.", f"I'm starting on '{pick['title']}' now, set it in progress.",
                   f"move {pick['task_id']} to in progress"))
    res = ep.one("set_task_status", {"task_id": pick["task_id"], "status": "in_progress"})
    ep.say(f"{res['task_id']} '{res['title']}' moved from {res['from']} to in progress.")
    return ep, env.state["tasks"][pick["task_id"]]["status"] == "in_progress" and not failed(res)


SCENARIOS = {"create_two": create_two, "close_all": close_all, "reassign": reassign, "my_open_then_start": my_open_then_start}
