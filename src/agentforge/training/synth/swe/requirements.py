"""What a package's tests need: its requirements (from PKG-INFO or requires.txt,
with the test extras), the plugins its pytest config asks for, and the metadata
that lets `importlib.metadata` find it without an install.
"""

from __future__ import annotations

import configparser
from email.parser import HeaderParser
from pathlib import Path

from agentforge.training.synth.swe.sdist import Layout, SdistError, normalize_name

TEST_EXTRAS = ("test", "tests", "testing")

# pytest options (from a package's pytest config) that need a plugin installed.
PLUGIN_FLAGS: tuple[tuple[str, str], ...] = (
    ("--cov", "pytest-cov"),
    ("--timeout", "pytest-timeout"),
    ("--benchmark", "pytest-benchmark"),
    ("--doctest-plus", "pytest-doctestplus"),
    ("--xdoctest", "xdoctest"),
    ("--mypy", "pytest-mypy"),
    ("--flake8", "pytest-flake8"),
    ("--black", "pytest-black"),
    ("--randomly", "pytest-randomly"),
    ("-n ", "pytest-xdist"),
    ("--numprocesses", "pytest-xdist"),
    ("--reruns", "pytest-rerunfailures"),
    ("--mpl", "pytest-mpl"),
    ("--hypothesis", "hypothesis"),
)


def read_pkg_info(root: Path) -> str:
    path = Path(root) / "PKG-INFO"
    if not path.is_file():
        raise SdistError(f"{root} has no PKG-INFO: not an sdist?")
    return path.read_text(errors="replace")


def _requires_txt(root: Path) -> list[str]:
    """setuptools' `*.egg-info/requires.txt` as Requires-Dist strings (older sdists have only this)."""
    out: list[str] = []
    paths = sorted(Path(root).glob("*.egg-info/requires.txt")) + sorted(Path(root).glob("src/*.egg-info/requires.txt"))
    for path in paths:
        extra, marker = "", ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                extra, _, marker = line[1:-1].partition(":")
                continue
            conditions = [f"({marker})"] if marker else []
            if extra:
                conditions.append(f'extra == "{extra}"')
            out.append(line + (f"; {' and '.join(conditions)}" if conditions else ""))
        if out:
            break
    return out


def requirements_from_metadata(pkg_info: str, extras: tuple[str, ...] = TEST_EXTRAS,
                               environment: dict[str, str] | None = None) -> list[str]:
    """Runtime requirements plus those of the test extras, markers evaluated, pytest itself left out."""
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement

    headers = HeaderParser().parsestr(pkg_info)
    lines = headers.get_all("Requires-Dist") or []
    provided = [normalize_name(e) for e in headers.get_all("Provides-Extra") or []]
    wanted = [e for e in provided if e in extras] or list(extras)
    env = dict(default_environment())
    env.update(environment or {})
    out: list[str] = []
    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            if "extra" in str(req.marker):
                ok = any(req.marker.evaluate({**env, "extra": e}) for e in wanted)
            else:
                ok = req.marker.evaluate({**env, "extra": ""})
            if not ok:
                continue
        if normalize_name(req.name) == "pytest":
            continue
        text = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
        text += f" @ {req.url}" if req.url else str(req.specifier)
        if text not in out:
            out.append(text)
    return out


def read_requirements(root: Path, extras: tuple[str, ...] = TEST_EXTRAS) -> list[str]:
    """What the package needs at run time and for its tests, from PKG-INFO (or egg-info/requires.txt)."""
    pkg_info = read_pkg_info(root)
    headers = HeaderParser().parsestr(pkg_info)
    if not headers.get_all("Requires-Dist"):
        lines = _requires_txt(root)
        if lines:
            pkg_info += "".join(f"\nRequires-Dist: {line}" for line in lines) + "\n"
            pkg_info = _move_headers_up(pkg_info)
    return requirements_from_metadata(pkg_info, extras)


def _move_headers_up(pkg_info: str) -> str:
    """PKG-INFO's headers end at the first blank line; put appended ones before the body."""
    head, sep, body = pkg_info.partition("\n\n")
    extra = [line for line in body.splitlines() if line.startswith("Requires-Dist: ")]
    body = "\n".join(line for line in body.splitlines() if not line.startswith("Requires-Dist: "))
    return head + "".join(f"\n{line}" for line in extra) + sep + body


def pytest_config(root: Path) -> dict[str, str]:
    """The ini options pytest would read from `root` (the first config file that has a pytest section)."""
    root = Path(root)
    candidates = [("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"),
                  ("setup.cfg", "tool:pytest")]
    for name, section in candidates:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if section is None:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                continue
            try:
                options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options")
            except Exception:
                continue
            if options is None:
                continue
            return {k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in options.items()}
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        if parser.has_section(section):
            return dict(parser.items(section))
        if name == "pytest.ini":
            return {}  # pytest.ini is the config even when empty
    return {}


def config_plugins(root: Path) -> list[str]:
    """Plugins the package's pytest config needs (`--cov` in addopts needs pytest-cov, ...)."""
    config = pytest_config(root)
    addopts = " " + config.get("addopts", "").replace("\n", " ") + " "
    found: list[str] = []
    for flag, plugin in PLUGIN_FLAGS:
        if (f" {flag}" in addopts) and plugin not in found:
            found.append(plugin)
    for plugin in config.get("required_plugins", "").split():
        if plugin not in found:
            found.append(plugin)
    return found


def ensure_metadata(root: Path, layout: Layout, name: str) -> str | None:
    """Make `importlib.metadata` find the distribution when the tree is on sys.path.

    setuptools sdists ship `NAME.egg-info/`; others (flit, hatch, poetry) do not,
    and code that asks `importlib.metadata.version(NAME)` would fail without an
    install. We put the sdist's PKG-INFO into `<source root>/NAME.egg-info/`, as a
    development install would. Returns the created directory (relative) or None.
    """
    root = Path(root)
    want = normalize_name(name).replace("-", "_")
    for base in {root, root / layout.source_root}:
        for info in list(base.glob("*.egg-info")) + list(base.glob("*.dist-info")):
            stem = info.name.rsplit(".", 1)[0]
            if normalize_name(stem.split("-")[0]).replace("-", "_") == want:
                return None
    target = (root / layout.source_root if layout.source_root else root) / f"{want}.egg-info"
    target.mkdir(parents=True, exist_ok=True)
    (target / "PKG-INFO").write_text(read_pkg_info(root))
    return target.relative_to(root).as_posix()
