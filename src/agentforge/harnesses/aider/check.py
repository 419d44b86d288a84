"""`agent bench aider --check-toolchains`: per language, can its tests run here, and if not, what to install.

For each language: the host paths its command needs, then its version command inside the
same sandbox the tests use (so a toolchain the sandbox cannot see is caught too).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentforge.harnesses.aider.data import LANGUAGES
from agentforge.harnesses.aider.grading import grading_sandbox
from agentforge.harnesses.aider.toolchains import missing, toolchain, toolchain_root


@dataclass
class LanguageCheck:
    language: str
    ok: bool
    detail: str  # the version, or what is wrong and what to do


async def check_language(language: str, sandbox: str = "auto") -> LanguageCheck:
    chain = toolchain(language)
    absent = missing(language)
    if absent:
        return LanguageCheck(language, False, f"missing {', '.join(absent)}: run {chain.install}")
    with tempfile.TemporaryDirectory(prefix="agentforge-aider-check-") as tmp:
        try:
            async with grading_sandbox(Path(tmp), sandbox) as box:
                result = await box.exec(chain.version, timeout=60, env=chain.env)
        except Exception as e:  # noqa: BLE001 - a sandbox that cannot start is this check's answer
            return LanguageCheck(language, False, f"the sandbox failed: {e}")
    version = " / ".join(line.strip() for line in result.output.strip().splitlines() if line.strip())
    if not result.ok:
        return LanguageCheck(language, False, f"`{chain.version}` failed in the sandbox ({result.returncode}): "
                                              f"{version[-300:]}; run {chain.install}")
    return LanguageCheck(language, True, version)


async def check_toolchains(sandbox: str = "auto") -> list[LanguageCheck]:
    return [await check_language(language, sandbox) for language in LANGUAGES]


def print_check(sandbox: str = "auto") -> int:
    """Print the check; 0 when every language can run its tests, else 1."""
    checks = asyncio.run(check_toolchains(sandbox))
    print(f"toolchains in {toolchain_root()}")
    for c in checks:
        print(f"  {c.language:<11} {'ok     ' if c.ok else 'MISSING'} {c.detail}")
    return 0 if all(c.ok for c in checks) else 1
