"""`python -m agentforge.cli ...`: the same as the `agent` command."""

from agentforge.cli import app

if __name__ == "__main__":
    app(prog_name="agent")
