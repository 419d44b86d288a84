"""`agent sandbox ...`: what isolation this machine offers, the docker base image,
and running one command the way the agent would."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from agentforge.cli.common import consoles, fail

sandbox_app = typer.Typer(help="Sandboxes for model-written commands: bwrap, docker, local.", no_args_is_help=True)


@sandbox_app.command("info")
def info() -> None:
    """Which backends work here, and which one `--sandbox auto` picks."""
    from agentforge.runtime.sandbox import SandboxError, resolve_kind
    from agentforge.runtime.sandbox.bwrap import bwrap_binary

    out, _ = consoles()
    table = Table("backend", "status", "isolation")  # cells are Text: an error's `[docker]` is not markup
    table.add_row("bwrap", Text(f"ok ({bwrap_binary()})" if bwrap_binary() else "missing: apt-get install bubblewrap"),
                  "no network, read-only system, workspace only; cgroup memory/pids limits")
    try:
        from agentforge.runtime.sandbox.docker import DEFAULT_IMAGE, docker_client
        from agentforge.runtime.sandbox.images import image_exists

        client = docker_client()
        image = "base image ready" if image_exists(DEFAULT_IMAGE, client) else \
            "engine ok; base image missing: agent sandbox build-image"
        table.add_row("docker", image, "--network none, read-only root, memory/pids/CPU limits")
    except SandboxError as e:
        table.add_row("docker", Text(f"unavailable: {e}"), "")
    table.add_row("local", "always", "[red]none[/] (only on request)")
    out.print(table)
    try:
        out.print(f"--sandbox auto → [bold]{resolve_kind('auto')}[/]")
    except SandboxError as e:
        out.print(Text(str(e), style="yellow"), soft_wrap=True)


@sandbox_app.command("build-image")
def build_image(mirror: Annotated[str, typer.Option(help="Debian mirror for debootstrap.")] =
                "http://deb.debian.org/debian") -> None:
    """Build the docker sandbox's base image locally (debootstrap; about a minute)."""
    from agentforge.runtime.sandbox import SandboxError
    from agentforge.runtime.sandbox.images import ensure_base_image

    out, err = consoles()
    try:
        tag = ensure_base_image(mirror=mirror, log=lambda m: err.print(Text(m, style="dim")))
    except SandboxError as e:
        fail(err, str(e))
    out.print(Text(f"ready: {tag}"))


@sandbox_app.command("run")
def run(
    command: Annotated[str, typer.Argument(help="A bash command.")],
    workspace: Annotated[Optional[Path], typer.Option(help="Writable directory (default: a fresh temporary "
                                                      "one).")] = None,
    sandbox: Annotated[str, typer.Option(help="auto, bwrap, docker or local.")] = "auto",
    timeout: Annotated[float, typer.Option(min=0.1)] = 30.0,
    network: Annotated[bool, typer.Option(help="Allow network access.")] = False,
) -> None:
    """Run one command in a sandbox and print what the agent would see."""
    from agentforge.runtime.sandbox import Limits, SandboxError, SandboxSpec, make_sandbox

    out, err = consoles()

    async def go(path: Path) -> str:
        box = make_sandbox(sandbox, SandboxSpec(workspace=path, network=network, limits=Limits(timeout=timeout)))
        async with box:
            result = await box.exec(command)
        return result.observation()

    try:
        if workspace:
            text = asyncio.run(go(workspace))
        else:
            with tempfile.TemporaryDirectory(prefix="agentforge-sandbox-") as tmp:
                text = asyncio.run(go(Path(tmp)))
    except SandboxError as e:
        fail(err, str(e))
    out.print(text, markup=False, highlight=False)
