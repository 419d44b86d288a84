"""Unpacking, layout detection and requirements on tiny fabricated sdists."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from agentforge.training.synth.swe.requirements import (config_plugins, ensure_metadata, pytest_config,
                                                       read_requirements, requirements_from_metadata)
from agentforge.training.synth.swe.sdist import PackageRef, SdistError, detect_layout, unpack_sdist

PKG_INFO = """Metadata-Version: 2.1
Name: Demo-Pkg
Version: 1.2
Provides-Extra: tests
Provides-Extra: docs
Requires-Dist: attrs>=21
Requires-Dist: tomli; python_version < "3.0"
Requires-Dist: freezegun; extra == "tests"
Requires-Dist: pytest>=7; extra == "tests"
Requires-Dist: sphinx; extra == "docs"

A description.
"""


def make_tar(path: Path, files: dict[str, str], top: str = "demo-pkg-1.2", links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


SRC_LAYOUT = {
    "PKG-INFO": PKG_INFO,
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--cov=demo --color=yes"\n',
    "src/demo/__init__.py": "from .core import add\n",
    "src/demo/core.py": "def add(a, b):\n    return a + b\n",
    "src/demo/tests/test_inner.py": "def test_inner():\n    pass\n",
    "tests/__init__.py": "",
    "tests/test_core.py": "from demo import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "tests/conftest.py": "",
    "docs/conf.py": "x = 1\n",
    "setup.py": "",
}


def test_unpack_strips_the_top_directory_and_skips_links(tmp_path):
    archive = make_tar(tmp_path / "demo-pkg-1.2.tar.gz", SRC_LAYOUT, links={"evil": "/etc/passwd"})
    tree = unpack_sdist(archive, tmp_path / "tree")
    assert (tree / "src" / "demo" / "core.py").read_text().startswith("def add")
    assert not (tree / "evil").exists() and not (tree / "evil").is_symlink()


@pytest.mark.parametrize("name", ["../escape.py", "/abs.py", "top/../../escape.py"])
def test_unpack_refuses_paths_outside(tmp_path, name):
    archive = make_tar(tmp_path / "bad.tar.gz", {name: "x"}, top="")
    with pytest.raises(SdistError):
        unpack_sdist(archive, tmp_path / "tree")
    assert not (tmp_path / "tree").exists()
    assert not (tmp_path / "escape.py").exists()


def test_unpack_zip(tmp_path):
    archive = tmp_path / "demo-pkg-1.2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in SRC_LAYOUT.items():
            zf.writestr(f"demo-pkg-1.2/{name}", text)
    tree = unpack_sdist(archive, tmp_path / "tree")
    assert (tree / "tests" / "test_core.py").is_file()


def test_src_layout(tmp_path):
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", SRC_LAYOUT), tmp_path / "tree")
    layout = detect_layout(tree)
    assert layout.source_root == "src"
    assert layout.modules == ["demo"]
    assert layout.source_files == ["src/demo/__init__.py", "src/demo/core.py"]
    assert layout.tests == ["src/demo/tests", "tests"]
    assert layout.pythonpath == ["src"]


def test_flat_layout_with_tests_inside_the_package_and_top_level_test_files(tmp_path):
    files = {
        "PKG-INFO": PKG_INFO,
        "setup.py": "",
        "demo.egg-info/top_level.txt": "demo\n",
        "demo/__init__.py": "",
        "demo/util.py": "def f():\n    return 1\n",
        "demo/tests/test_util.py": "",
        "helper.py": "",  # not listed in top_level.txt: not the library
        "test_demo.py": "",
    }
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", files), tmp_path / "tree")
    layout = detect_layout(tree)
    assert layout.source_root == ""
    assert layout.modules == ["demo"]
    assert layout.source_files == ["demo/__init__.py", "demo/util.py"]
    assert layout.tests == ["demo/tests", "test_demo.py"]
    assert layout.pythonpath == ["."]


def test_single_module_package(tmp_path):
    files = {"PKG-INFO": PKG_INFO, "demo.py": "def f():\n    pass\n", "tests/test_demo.py": ""}
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", files), tmp_path / "tree")
    layout = detect_layout(tree)
    assert (layout.modules, layout.source_files, layout.tests) == (["demo"], ["demo.py"], ["tests"])


def test_an_sdist_without_tests_is_refused(tmp_path):
    files = {"PKG-INFO": PKG_INFO, "demo/__init__.py": ""}
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", files), tmp_path / "tree")
    with pytest.raises(SdistError, match="no tests"):
        detect_layout(tree)


def test_requirements_keep_runtime_and_test_extras_only():
    # pytest is ours to pin; the docs extra and the false marker drop out
    assert requirements_from_metadata(PKG_INFO) == ["attrs>=21", "freezegun"]


def test_requirements_fall_back_to_egg_info_requires_txt(tmp_path):
    (tmp_path / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1\n")
    (tmp_path / "demo.egg-info").mkdir()
    (tmp_path / "demo.egg-info" / "requires.txt").write_text(
        "six>=1\n\n[:python_version < \"3\"]\nfutures\n\n[test]\nmock\n\n[unidecode]\nUnidecode\n")
    assert read_requirements(tmp_path) == ["six>=1", "mock"]


def test_pytest_plugins_from_the_config_pytest_reads(tmp_path):
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", SRC_LAYOUT), tmp_path / "tree")
    assert pytest_config(tree)["addopts"] == "--cov=demo --color=yes"
    assert config_plugins(tree) == ["pytest-cov"]
    (tree / "pytest.ini").write_text("[pytest]\nrequired_plugins = pytest-timeout\n")
    assert config_plugins(tree) == ["pytest-timeout"]  # pytest.ini wins over pyproject.toml


def test_ensure_metadata_writes_an_egg_info_once(tmp_path):
    tree = unpack_sdist(make_tar(tmp_path / "d.tar.gz", SRC_LAYOUT), tmp_path / "tree")
    layout = detect_layout(tree)
    assert ensure_metadata(tree, layout, "Demo-Pkg") == "src/demo_pkg.egg-info"
    assert (tree / "src/demo_pkg.egg-info/PKG-INFO").read_text() == PKG_INFO
    assert ensure_metadata(tree, layout, "Demo-Pkg") is None


def test_package_ref():
    assert PackageRef.parse(" more-itertools==10.5.0 ") == PackageRef("more-itertools", "10.5.0")
    assert PackageRef("Python_Slugify", "8").normalized == "python-slugify"
    for bad in ("toolz", "toolz>=1", "toolz==", "==1.0"):
        with pytest.raises(ValueError):
            PackageRef.parse(bad)
