"""A virtual disk: folders and text files in a workspace tree."""

from __future__ import annotations

import posixpath
import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, boolean, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import choose, join

_FOLDERS = ("notes", "docs", "projects", "photos", "reports", "drafts", "recipes", "invoices", "music", "scripts",
            "travel", "school", "taxes", "garden", "clients", "research", "letters", "configs")
_STEMS = ("summary", "plan", "budget", "todo", "ideas", "meeting", "readme", "changelog", "contacts", "draft",
          "outline", "packing-list", "minutes", "roadmap", "inventory", "itinerary", "notes-2024", "expenses",
          "checklist", "agenda", "quotes", "feedback", "schedule", "wishlist", "passwords-hint", "reading-list")
_EXTS = (".txt", ".md", ".csv", ".json")
_LINES = (
    "Call the plumber on Tuesday.", "Budget for Q3 is 12,400.", "Ship version 2.1 before the demo.",
    "Buy milk, eggs and coffee.", "Meeting moved to Thursday 10:00.", "Password rotation is due next week.",
    "Remember to back up the photos.", "Draft chapter 3 by Friday.", "Flights: LIS -> BER on the 14th.",
    "Total spent in March: 845.20", "Renew the domain before it expires.", "Ask Marta about the venue.",
    "Hotel check-in after 15:00, booking ref KX93.", "Water the tomatoes every second day.", "Dentist on the 3rd at 9:30.",
    "Invoice #4471 paid on 12 May.", "Port 8080 is used by the staging proxy.", "Bring the HDMI adapter to the workshop.",
    "Quote for the roof: 3,200 incl. VAT.", "Chapter 5 needs a stronger ending.", "Library books due on Friday.",
    "Gate code for the garage is on the fridge.", "Try the lentil soup with cumin next time.", "Send the slides to Ines.",
)


def _parent(path: str) -> str:
    return posixpath.dirname(path) or "."


class Disk(ToolEnv):
    NAME = "disk"

    @classmethod
    def random(cls, rng: random.Random, folders: int = 3) -> "Disk":
        state = {"dirs": ["."], "files": {}}
        for folder in rng.sample(_FOLDERS, folders):
            state["dirs"].append(folder)
            for stem in rng.sample(_STEMS, rng.randint(2, 4)):
                state["files"][f"{folder}/{stem}{rng.choice(_EXTS)}"] = rng.choice(_LINES)
        return cls(state)

    def _is_dir(self, path: str) -> bool:
        return path in self.state["dirs"]

    def _exists(self, path: str) -> bool:
        return self._is_dir(path) or path in self.state["files"]

    def _norm(self, path: str) -> str:
        return posixpath.normpath(path.strip("/")) if path.strip("/") else "."

    @tool("List the files and folders inside a folder of the workspace.",
          names=("list_folder", "browse_folder", "listDirectoryEntries"), path=string("Folder path; '.' is the root", default="."))
    def list_folder(self, path: str = ".") -> dict:
        path = self._norm(path)
        if not self._is_dir(path):
            raise ToolError(f"no such folder: '{path}'")
        entries = [{"name": posixpath.basename(d), "type": "folder"} for d in self.state["dirs"] if d != "." and _parent(d) == path]
        entries += [{"name": posixpath.basename(f), "type": "file", "size": len(c.encode())}
                    for f, c in sorted(self.state["files"].items()) if _parent(f) == path]
        return {"path": path, "entries": entries}

    @tool("Read a text file.", names=("read_text_file", "open_document", "readFileContents"), required=("path",),
          path=string("File path, e.g. notes/todo.txt"))
    def read_text_file(self, path: str) -> dict:
        path = self._norm(path)
        if self._is_dir(path):
            raise ToolError(f"'{path}' is a folder, not a file")
        if path not in self.state["files"]:
            raise ToolError(f"no such file: '{path}'")
        return {"path": path, "content": self.state["files"][path]}

    @tool("Create or replace a text file.", names=("save_text_file", "write_document", "putFile"), required=("path", "content"),
          path=string("File path"), content=string("Full text of the file"),
          overwrite=boolean("Replace the file if it already exists", default=False))
    def save_text_file(self, path: str, content: str, overwrite: bool = False) -> dict:
        path = self._norm(path)
        if not self._is_dir(_parent(path)):
            raise ToolError(f"folder '{_parent(path)}' does not exist")
        if self._is_dir(path):
            raise ToolError(f"'{path}' is a folder")
        if path in self.state["files"] and not overwrite:
            raise ToolError(f"file '{path}' already exists; set overwrite to true to replace it")
        self.state["files"][path] = content
        return {"path": path, "bytes_written": len(content.encode())}

    @tool("Create a folder (and any missing parent folders).", names=("create_folder", "new_directory", "makeFolder"),
          required=("path",), path=string("Folder path to create"))
    def create_folder(self, path: str) -> dict:
        path = self._norm(path)
        if self._exists(path):
            raise ToolError(f"'{path}' already exists")
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self.state["files"]:
                raise ToolError(f"'{sub}' is a file")
            if not self._is_dir(sub):
                self.state["dirs"].append(sub)
        return {"path": path, "created": True}

    @tool("Move or rename a file. If the destination is a folder, the file goes inside it.",
          names=("relocate_file", "move_entry", "moveFile"), required=("source", "destination"),
          source=string("Current file path"), destination=string("New path, or an existing folder"))
    def relocate_file(self, source: str, destination: str) -> dict:
        into_folder = destination.endswith("/")
        source, destination = self._norm(source), self._norm(destination)
        if source not in self.state["files"]:
            raise ToolError(f"no such file: '{source}'")
        if into_folder and not self._is_dir(destination):
            raise ToolError(f"destination folder '{destination}' does not exist")
        if self._is_dir(destination):
            destination = posixpath.join(destination, posixpath.basename(source)) if destination != "." else posixpath.basename(source)
        elif not self._is_dir(_parent(destination)):
            raise ToolError(f"destination folder '{_parent(destination)}' does not exist")
        if destination in self.state["files"]:
            raise ToolError(f"'{destination}' already exists")
        self.state["files"][destination] = self.state["files"].pop(source)
        return {"from": source, "to": destination}

    @tool("Delete a file, or an empty folder.", names=("delete_entry", "remove_file", "trashItem"), required=("path",),
          path=string("Path to delete"))
    def delete_entry(self, path: str) -> dict:
        path = self._norm(path)
        if path in self.state["files"]:
            del self.state["files"][path]
        elif self._is_dir(path) and path != ".":
            if any(_parent(p) == path for p in list(self.state["files"]) + self.state["dirs"]):
                raise ToolError(f"folder '{path}' is not empty")
            self.state["dirs"].remove(path)
        else:
            raise ToolError(f"no such file or folder: '{path}'")
        return {"deleted": path}

    @tool("Find files whose name contains a text, anywhere in the workspace.", names=("search_files", "find_by_name"),
          required=("name_contains",), name_contains=string("Part of the file name, case-insensitive"))
    def search_files(self, name_contains: str) -> dict:
        needle = name_contains.lower()
        return {"matches": sorted(f for f in self.state["files"] if needle in posixpath.basename(f).lower())}


def _files_in(env: Disk, folder: str) -> list[str]:
    return sorted(f for f in env.state["files"] if _parent(f) == folder)


def read_two(rng: random.Random) -> tuple[Episode, bool]:
    env = Disk.random(rng)
    a, b = rng.sample(sorted(env.state["files"]), 2)
    ep = Episode(env, rng, ["read_text_file"])
    ep.user(choose(rng, f"What's in {a} and {b}?", f"Read {a} and {b} for me.", f"show me the contents of {a} and {b}",
                   f"Can you open {a} and also {b}?"))
    ra, rb = ep.call(("read_text_file", {"path": a}), ("read_text_file", {"path": b}))
    ep.say(choose(rng, f"{a} says: \"{ra['content']}\"\n{b} says: \"{rb['content']}\"",
                  f"- {a}: {ra['content']}\n- {b}: {rb['content']}"))
    return ep, not failed(ra) and not failed(rb)


def move_to_new_folder(rng: random.Random) -> tuple[Episode, bool]:
    """The target folder is missing: create it (if the user allowed it, else after asking), then move."""
    env = Disk.random(rng)
    src = rng.choice(sorted(env.state["files"]))
    target = f"{rng.choice(('archive', 'old', 'backup', 'done'))}/{rng.choice(('2024', '2025', 'q1', 'march'))}"
    allowed = rng.random() < 0.5
    ep = Episode(env, rng, ["relocate_file", "create_folder"])
    ask = choose(rng, f"Move {src} into {target}.", f"Please put {src} in the {target} folder.", f"file {src} under {target}/ -")
    ep.user(ask + (choose(rng, " Create the folder if needed.", " Make the folder if it isn't there.") if allowed else ""))
    res = ep.one("relocate_file", {"source": src, "destination": f"{target}/"})
    if failed(res) and not allowed:
        ep.say(f"The folder {target} doesn't exist yet. Should I create it and then move the file?")
        ep.user(choose(rng, "Yes, go ahead.", "yes please", "Sure, create it."))
    if failed(res):
        ep.one("create_folder", {"path": target})
        res = ep.one("relocate_file", {"source": src, "destination": f"{target}/"})
    ep.say(choose(rng, f"Done: I created {target} and moved the file to {res['to']}.",
                  f"Created the folder {target}; {src} is now at {res['to']}."))
    dest = f"{target}/{posixpath.basename(src)}"
    return ep, dest in env.state["files"] and src not in env.state["files"] and ep.errors == 1


def save_existing(rng: random.Random) -> tuple[Episode, bool]:
    """Saving over an existing file fails; the assistant asks, then overwrites or saves elsewhere."""
    env = Disk.random(rng)
    path = rng.choice(sorted(env.state["files"]))
    text = rng.choice([line for line in _LINES if line != env.state["files"][path]])
    ep = Episode(env, rng, ["save_text_file"])
    ep.user(choose(rng, f"Save \"{text}\" to {path}.", f"write '{text}' into {path}", f"Put this in {path}: {text}"))
    ep.one("save_text_file", {"path": path, "content": text})
    ep.say(f"{path} already exists. Do you want me to replace it, or save the text under another name?")
    stem, ext = posixpath.splitext(path)
    if rng.random() < 0.5:
        final = path
        ep.user(choose(rng, "Replace it.", "Overwrite it, that's fine.", "yes, replace the old one"))
        res = ep.one("save_text_file", {"path": path, "content": text, "overwrite": True})
        ep.say(f"Replaced {path} with the new text ({res['bytes_written']} bytes).")
    else:
        final = f"{stem}-new{ext}"
        ep.user(choose(rng, f"Save it as {final} instead.", f"Use {final}.", f"no, call it {final}"))
        res = ep.one("save_text_file", {"path": final, "content": text})
        ep.say(f"Saved the text to {final} ({res['bytes_written']} bytes); {path} is unchanged.")
    return ep, env.state["files"].get(final) == text and ep.errors == 1


def clean_folder(rng: random.Random) -> tuple[Episode, bool]:
    """List a folder, then delete the matching files in one parallel turn."""
    env = Disk.random(rng)
    folder = rng.choice([d for d in env.state["dirs"] if d != "."])
    ext = rng.choice((".log", ".tmp", ".bak"))
    for stem in rng.sample(("build", "debug", "cache", "run1", "run2", "old"), rng.randint(2, 3)):
        env.state["files"][f"{folder}/{stem}{ext}"] = "x" * rng.randint(10, 400)
    ep = Episode(env, rng, ["list_folder", "delete_entry"])
    ep.user(choose(rng, f"Delete all the {ext} files in {folder}.", f"clean up {folder}: remove every {ext} file",
                   f"Get rid of the {ext} files in the {folder} folder please"))
    listing = ep.one("list_folder", {"path": folder})
    doomed = [f"{folder}/{e['name']}" for e in listing["entries"] if e["type"] == "file" and e["name"].endswith(ext)]
    ep.call(*[("delete_entry", {"path": p}) for p in doomed])
    gone = join([posixpath.basename(p) for p in doomed])
    ep.say(choose(rng, f"Deleted {len(doomed)} {ext} files from {folder}: {gone}.", f"Removed {gone} from {folder}; no {ext} files are left there."))
    return ep, not any(f.endswith(ext) for f in _files_in(env, folder)) and ep.errors == 0


def find_misnamed(rng: random.Random) -> tuple[Episode, bool]:
    """The user gets the extension wrong: search by name, then read the file that exists."""
    env = Disk.random(rng)
    path = rng.choice(sorted(env.state["files"]))
    stem, ext = posixpath.splitext(path)
    name = posixpath.basename(stem)
    if sum(name in posixpath.basename(f) for f in env.state["files"]) != 1:
        return Episode(env, rng, []), False
    wrong = stem + rng.choice([e for e in _EXTS if e != ext])
    ep = Episode(env, rng, ["read_text_file", "search_files"])
    ep.user(choose(rng, f"What does {wrong} say?", f"open {wrong}", f"Read me {wrong} please."))
    ep.one("read_text_file", {"path": wrong})
    matches = ep.one("search_files", {"name_contains": name})["matches"]
    res = ep.one("read_text_file", {"path": matches[0]})
    ep.say(choose(rng, f"There is no {wrong}, but I found {res['path']}. It says: \"{res['content']}\"",
                  f"{wrong} doesn't exist; the file is {res['path']}, and it reads: {res['content']}"))
    return ep, matches == [path] and ep.errors == 1


def note_and_folder(rng: random.Random) -> tuple[Episode, bool]:
    """Two independent changes (a new note in an existing folder, a new folder) in one parallel turn."""
    env = Disk.random(rng)
    folder = rng.choice([d for d in env.state["dirs"] if d != "."])
    path = f"{folder}/{rng.choice(('new', 'quick', 'later', 'call'))}-{rng.choice(_STEMS)}.txt"
    text = rng.choice(_LINES)
    fresh = rng.choice([f for f in _FOLDERS if f not in env.state["dirs"]])
    ep = Episode(env, rng, ["save_text_file", "create_folder"])
    ep.user(choose(rng, f"Write \"{text}\" to {path}, and make a new folder called {fresh}.",
                   f"Two things: create a {fresh} folder, and save '{text}' as {path}.",
                   f"save this to {path}: {text} — also I need an empty folder named {fresh}"))
    saved, made = ep.call(("save_text_file", {"path": path, "content": text}), ("create_folder", {"path": fresh}))
    ep.say(choose(rng, f"Saved the note to {saved['path']} and created the folder {made['path']}.",
                  f"Done: {saved['path']} is written ({saved['bytes_written']} bytes) and {made['path']}/ exists now."))
    return ep, env.state["files"].get(path) == text and fresh in env.state["dirs"] and ep.errors == 0


SCENARIOS = {"read_two": read_two, "note_and_folder": note_and_folder, "move_to_new_folder": move_to_new_folder, "save_existing": save_existing,
             "clean_folder": clean_folder, "find_misnamed": find_misnamed}
