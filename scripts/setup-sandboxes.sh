#!/usr/bin/env bash
# System pieces the sandboxes need (Debian/Ubuntu, as root): bubblewrap, a Docker
# engine, debootstrap (builds the docker base image where no registry is
# reachable), and slirp4netns (network for bwrap builds without the host's
# loopback). Starts dockerd if none is running. Safe to run again.
set -euo pipefail
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v slirp4netns >/dev/null || missing+=(slirp4netns)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (log: /tmp/dockerd.log)"
  (dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi
echo "sandboxes ready: $(bwrap --version), $(slirp4netns --version | head -1), docker $(docker version --format '{{.Server.Version}}')"
