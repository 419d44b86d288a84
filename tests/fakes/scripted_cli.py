"""Run the real `agent` command line in a process of its own, with a scripted model.

    python -m tests.fakes.scripted_cli SCRIPT.json solve REPO --issue ... --format tools

SCRIPT.json is a list of model turns, [text, [[tool name, arguments], ...]],
replayed as tests/runtime/coding/scripting.py does (the last one repeats).
Tests that need a real process (signals, a pseudo-terminal for stdout) use it:
no model here can be made to run a known sequence of commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    script, args = Path(sys.argv[1]), sys.argv[2:]
    turns = [(text, [(name, arguments) for name, arguments in calls])
             for text, calls in json.loads(script.read_text())]

    import agentforge.runtime.backends as backends
    from tests.runtime.coding.scripting import scripted

    async def make_backend(spec: str, **kw):
        return scripted(turns)

    backends.make_backend = make_backend
    from agentforge.cli import app

    app(args, prog_name="agent")


if __name__ == "__main__":
    main()
