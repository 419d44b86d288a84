"""Aider's chat framing, rebuilt for every model call (base_coder.format_chat_chunks):

  system    the edit format's main_system, then its system_reminder
  examples  the format's one-shot exchange, then "I switched to a new code base..." / "Ok."
  done      earlier turns (try 1 when try 2 runs; "I updated the files." / "Ok." after edits)
  files     "I have *added these files to the chat*..." + each file fenced under its path / the reply
  current   this try's messages; the last user message gets the system_reminder appended

The texts come from aider-chat (aider_texts). The settings are Aider's defaults for a
model it has no settings for: system prompt on, examples as messages, reminder in the
user message, no lazy/overeager reminders, shell-command suggestions off (as benchmark.py).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime

from agentforge.harnesses.aider.aider_texts import AiderTexts, FormatTexts
from agentforge.runtime.messages import Message

FENCES = (("```", "```"), ("````", "````"), ("<source>", "</source>"), ("<code>", "</code>"), ("<pre>", "</pre>"),
          ("<codeblock>", "</codeblock>"), ("<sourcecode>", "</sourcecode>"))


def choose_fence(contents: list[str]) -> tuple[str, str]:
    """The first fence that starts no line of the files (Aider's choose_fence)."""
    lines = [line for text in contents for line in text.splitlines()]
    for fence in FENCES:
        if not any(line.startswith(fence[0]) or line.startswith(fence[1]) for line in lines):
            return fence
    return FENCES[0]


def platform_text() -> str:
    """What Aider tells the model about the platform (no git repo, no lint or test commands shown)."""
    return (f"- Platform: {platform.platform()}\n- Shell: SHELL=/bin/bash\n"
            f"- Current date: {datetime.now().astimezone().strftime('%Y-%m-%d')}\n")


@dataclass
class Chat:
    texts: AiderTexts
    edit_format: str  # whole | diff
    done: list[Message] = field(default_factory=list)
    current: list[Message] = field(default_factory=list)

    @property
    def format_texts(self) -> FormatTexts:
        return self.texts.formats[self.edit_format]

    def fmt(self, text: str, fence: tuple[str, str]) -> str:
        own = self.format_texts
        where = platform_text()
        quad = "\nIMPORTANT: Use *quadruple* backticks ```` as fences, not triple backticks!\n" \
            if fence[0] == "````" else ""
        return text.format(fence=fence, quad_backtick_reminder=quad, final_reminders="", platform=where,
                           shell_cmd_prompt=own.no_shell_cmd_prompt.format(platform=where), rename_with_shell="",
                           shell_cmd_reminder=own.no_shell_cmd_reminder.format(platform=where),
                           go_ahead_tip=own.go_ahead_tip, language="the same language they are using")

    def messages(self, files: dict[str, str]) -> list[Message]:
        """The messages of the next model call; `files`: path -> current content (re-read each call)."""
        fence = choose_fence(list(files.values()))
        own = self.format_texts
        system = self.fmt(own.main_system, fence)
        if own.system_reminder:
            system += "\n" + self.fmt(own.system_reminder, fence)
        out = [Message.system(system)]
        if own.example_messages:
            out += [Message(role=role, content=self.fmt(content, fence)) for role, content in own.example_messages]
            out += [Message.user(self.texts.new_code_base), Message(role="assistant", content="Ok.")]
        out += self.done
        listing = "".join(f"\n{path}\n{fence[0]}\n{content}{fence[1]}\n" for path, content in files.items())
        out += [Message.user(self.texts.files_content_prefix + listing),
                Message(role="assistant", content=self.texts.files_content_assistant_reply)]
        current = list(self.current)
        if current and current[-1].role == "user" and own.system_reminder:
            last = current[-1]
            current[-1] = Message.user(f"{last.content}\n\n{self.fmt(own.system_reminder, fence)}")
        return out + current

    def fence(self, files: dict[str, str]) -> tuple[str, str]:
        return choose_fence(list(files.values()))

    def edits_applied(self) -> None:
        """After a reply whose edits landed: this exchange moves to `done`, then "I updated the files."/"Ok."."""
        self.done += self.current + [Message.user(self.texts.edits_applied), Message(role="assistant", content="Ok.")]
        self.current = []

    def end_turn(self) -> None:
        """A try ends without applied edits: its messages still become history."""
        self.done += self.current
        self.current = []
