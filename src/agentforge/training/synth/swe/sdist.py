"""Real packages to mutate: PyPI source distributions that ship their tests.

    archive = download_sdist("toolz", "1.0.0")          # cached in the user cache
    tree = unpack_sdist(archive, dest)                   # safe: no links, nothing outside dest
    layout = detect_layout(tree)                         # source files, tests, PYTHONPATH
    requirements = read_requirements(tree)               # runtime + test-extra requirements (requirements.py)

Only pure-Python packages fit: the tests import the workspace's code through
PYTHONPATH, nothing is built or installed from the tree itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agentforge.runtime.cache import cache_root

# Pinned so that runs are reproducible. 8.x still accepts the py.path hook
# arguments that older conftest files use (9 removed them).
PYTEST_REQUIREMENT = "pytest==8.4.2"

# Packages whose sdists ship a fast (< ~10 s here) test suite and no compiled code.
DEFAULT_PACKAGES: tuple[str, ...] = (
    "more-itertools==10.5.0",
    "toolz==1.0.0",
    "cachetools==5.5.0",
    "inflection==0.5.1",
    "parse==1.20.2",
    "tabulate==0.10.0",
)

TEST_DIR_NAMES = ("tests", "test", "testing")
# Top-level directories that hold no library code.
NOT_SOURCE_DIRS = {"docs", "doc", "documentation", "examples", "example", "benchmarks", "benchmark", "bench",
                   "scripts", "tools", "build", "dist", "changelog.d", "ci", "site", "bin"} | set(TEST_DIR_NAMES)
NOT_SOURCE_FILES = {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py", "runtests.py",
                    "run_tests.py", "__main__.py"}
SKIPPED_NAMES = {"__pycache__", ".git", ".hg", ".svn", ".tox", ".nox", ".eggs"}


class SdistError(RuntimeError):
    pass


# --- names ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageRef:
    name: str
    version: str

    @classmethod
    def parse(cls, text: str) -> "PackageRef":
        """`NAME==VERSION`; an exact pin is required so that a run is reproducible."""
        name, sep, version = text.strip().partition("==")
        if not sep or not name.strip() or not version.strip() or any(c in version for c in "<>=!~,; "):
            raise ValueError(f"expected NAME==VERSION, got {text!r}")
        return cls(name.strip(), version.strip())

    @property
    def normalized(self) -> str:
        """PEP 503 name: lower case, runs of `-_.` become `-`."""
        return normalize_name(self.name)

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- download ------------------------------------------------------------------------




def sdist_cache() -> Path:
    return cache_root() / "swe-synth" / "sdists"


def _archive_in(directory: Path, ref: PackageRef) -> Path | None:
    """The sdist of `ref` in `directory`, whatever spelling of the name it uses."""
    if not directory.is_dir():
        return None
    want = ref.normalized.replace("-", "_")
    for path in sorted(directory.iterdir()):
        name = path.name
        for suffix in (".tar.gz", ".tgz", ".zip", ".tar.bz2"):
            if name.endswith(suffix):
                stem = name[: -len(suffix)]
                dist, _, version = stem.rpartition("-")
                if version == ref.version and normalize_name(dist).replace("-", "_") == want:
                    return path
    return None


SIMPLE_INDEX = os.environ.get("AGENTFORGE_PYPI_SIMPLE", "https://pypi.org/simple")
SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2")


def _is_sdist_of(filename: str, ref: PackageRef) -> bool:
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            dist, _, version = filename[: -len(suffix)].rpartition("-")
            return version == ref.version and normalize_name(dist) == ref.normalized
    return False


def download_sdist(name: str, version: str, cache: Path | None = None) -> Path:
    """The sdist archive of NAME==VERSION, downloaded once into the user cache.

    Fetched by URL from the index's JSON simple API (PEP 691) and checked against
    its sha256 — not with `pip download`, which would run the sdist's build
    backend on the host to read its metadata.
    """
    ref = PackageRef(name, version)
    root = Path(cache or sdist_cache())
    found = _archive_in(root, ref)
    if found:
        return found
    root.mkdir(parents=True, exist_ok=True)
    index = f"{SIMPLE_INDEX.rstrip('/')}/{ref.normalized}/"
    try:
        request = urllib.request.Request(index, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise SdistError(f"cannot read the package index {index} ({exc}); is PyPI reachable? "
                         "(AGENTFORGE_PYPI_SIMPLE names another index)") from exc
    entries = [f for f in files if _is_sdist_of(f["filename"], ref) and not f.get("yanked")]
    if not entries:
        raise SdistError(f"{ref} has no sdist on {SIMPLE_INDEX} (only wheels, or no such release)")
    entry = entries[0]
    try:
        with urllib.request.urlopen(entry["url"], timeout=300) as response:
            data = response.read()
    except OSError as exc:
        raise SdistError(f"downloading {entry['url']} failed: {exc}") from exc
    expected = entry.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise SdistError(f"{entry['filename']}: sha256 mismatch (expected {expected})")
    with tempfile.NamedTemporaryFile(dir=root, prefix=".download-", delete=False) as tmp:
        tmp.write(data)
    final = root / entry["filename"]
    os.replace(tmp.name, final)  # atomic: a concurrent download of the same file is harmless
    return final


# --- unpack --------------------------------------------------------------------------


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path's components below the archive's top directory, or None when unsafe/empty."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(p == ".." for p in path.parts):
        raise SdistError(f"unsafe path in archive: {name!r}")
    parts = tuple(p for p in path.parts if p not in ("", "."))
    return parts[1:] or None  # strip `name-version/`


def unpack_sdist(archive: Path, dest: Path) -> Path:
    """Extract regular files and directories of `archive` into `dest` (which must not exist).

    The archive's single top directory is stripped. Absolute paths and `..`
    components are refused; links, devices and fifos are skipped, so nothing
    can be written outside `dest`. Files keep only their executable bit.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        raise SdistError(f"{dest} already exists")
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        name = archive.name
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    parts = _safe_parts(info.filename)
                    mode = info.external_attr >> 16
                    if parts is None or stat.S_ISLNK(mode):
                        continue
                    if info.is_dir():
                        staging.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                        continue
                    _write(staging, parts, zf.read(info), bool(mode & 0o111))
        elif name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
            with tarfile.open(archive) as tf:
                for member in tf:
                    parts = _safe_parts(member.name)
                    if parts is None:
                        continue
                    if member.isdir():
                        staging.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                    elif member.isfile():
                        data = tf.extractfile(member).read()
                        _write(staging, parts, data, bool(member.mode & 0o111))
                    # symlinks, hard links, devices, fifos: skipped
        else:
            raise SdistError(f"unknown archive type: {archive}")
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _write(root: Path, parts: tuple[str, ...], data: bytes, executable: bool) -> None:
    target = root.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_dir():
        raise SdistError(f"archive member {'/'.join(parts)} collides with a directory or link")
    target.write_bytes(data)
    target.chmod(0o755 if executable else 0o644)


def clean_tree(root: Path) -> None:
    """Remove byte code and VCS leftovers that some sdists ship."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.name in SKIPPED_NAMES and path.is_dir():
            shutil.rmtree(path)
        elif path.suffix in (".pyc", ".pyo") and path.is_file():
            path.unlink()


# --- layout --------------------------------------------------------------------------


@dataclass
class Layout:
    source_root: str  # "" (flat) or "src"
    modules: list[str]  # top-level importable names
    source_files: list[str]  # .py files (relative to the tree) that may be mutated
    tests: list[str]  # test directories/files (relative), as pytest is given them
    pythonpath: list[str] = field(default_factory=lambda: ["."])


def _is_test_path(rel: PurePosixPath) -> bool:
    name = rel.name
    if any(p in TEST_DIR_NAMES for p in rel.parts[:-1]):
        return True
    return name.startswith("test_") or name.endswith("_test.py") or name in ("conftest.py", "tests.py")


def _has_python(directory: Path) -> bool:
    return any(p.suffix == ".py" for p in directory.iterdir()) or any(
        (d / "__init__.py").is_file() for d in directory.iterdir() if d.is_dir())


def _top_level_txt(root: Path, source_root: Path) -> list[str] | None:
    for base in (source_root, root):
        for info in sorted(base.glob("*.egg-info")):
            top = info / "top_level.txt"
            if top.is_file():
                names = [line.strip() for line in top.read_text().splitlines() if line.strip()]
                if names:
                    return names
    return None


def detect_layout(root: Path) -> Layout:
    """Where the library code and the tests are in an unpacked sdist."""
    root = Path(root)
    src = root / "src"
    source_root = "src" if src.is_dir() and _has_python(src) else ""
    base = root / source_root if source_root else root
    listed = _top_level_txt(root, base)
    modules: list[str] = []
    for entry in sorted(base.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith((".egg-info", ".dist-info")):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file() and entry.name not in NOT_SOURCE_DIRS:
            modules.append(entry.name)
        elif (entry.is_file() and entry.suffix == ".py" and entry.name not in NOT_SOURCE_FILES
              and not _is_test_path(PurePosixPath(entry.name))):
            modules.append(entry.stem)
    if listed:
        modules = [m for m in modules if m.split(".")[0] in {n.split("/")[0] for n in listed}] or modules
    if not modules:
        raise SdistError(f"no Python package or module found in {root}")

    source_files: list[str] = []
    for module in modules:
        path = base / module
        candidates = sorted(path.rglob("*.py")) if path.is_dir() else [base / f"{module}.py"]
        for file in candidates:
            rel = PurePosixPath(file.relative_to(root).as_posix())
            inner = PurePosixPath(file.relative_to(base).as_posix())
            if not any(p in SKIPPED_NAMES for p in rel.parts) and not _is_test_path(inner):
                source_files.append(str(rel))

    tests: list[str] = []
    for directory in (root, base) if source_root else (root,):
        for name in TEST_DIR_NAMES:
            d = directory / name
            if d.is_dir() and any(d.rglob("*.py")):
                tests.append(d.relative_to(root).as_posix())
    for module in modules:
        for name in TEST_DIR_NAMES:
            d = base / module / name
            if d.is_dir() and any(d.rglob("*.py")):
                tests.append(d.relative_to(root).as_posix())
    for file in sorted(root.glob("*.py")):
        if file.name.startswith("test_") or file.name.endswith("_test.py"):
            tests.append(file.name)
    if not tests:
        raise SdistError(f"the sdist at {root} ships no tests (no tests/, test/ or test_*.py found)")
    pythonpath = [source_root] if source_root else ["."]
    return Layout(source_root=source_root, modules=modules, source_files=source_files,
                  tests=sorted(dict.fromkeys(tests)), pythonpath=pythonpath)


def tree_digest(root: Path) -> str:
    """A content hash of a tree (paths, modes and bytes), for caching."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(b"x" if os.access(path, os.X_OK) else b"-")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
