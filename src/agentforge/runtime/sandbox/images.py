"""The docker sandbox's base image, built locally when no registry is reachable.

A minimal Debian (debootstrap: python3, venv, pip, git, patch, CA certificates)
imported as an image. About a minute on a 2-core machine, once per Docker engine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .base import SYSTEM_PATH, SandboxError
from .docker import DEFAULT_IMAGE, docker_client

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "python3-pip", "git", "patch", "ca-certificates", "procps")


def image_exists(tag: str = DEFAULT_IMAGE, client=None) -> bool:
    client = client or docker_client()
    try:
        client.images.get(tag)
        return True
    except Exception:
        return False


def ensure_base_image(tag: str = DEFAULT_IMAGE, client=None, mirror: str = MIRROR, log=print) -> str:
    """Return `tag`, building it with debootstrap first if the engine lacks it."""
    client = client or docker_client()
    if image_exists(tag, client):
        return tag
    if shutil.which("debootstrap") is None:
        raise SandboxError(f"docker image {tag} is missing and debootstrap is not installed to build it: "
                           "`apt-get install debootstrap` (or pull/tag an image with python3 and git as "
                           f"{tag})")
    with tempfile.TemporaryDirectory(prefix="agentforge-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"building {tag}: debootstrap {SUITE} (about a minute)")
        run = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
                              str(rootfs), mirror], capture_output=True, text=True)
        if run.returncode != 0:
            raise SandboxError(f"debootstrap failed ({run.returncode}): {run.stderr[-2000:] or run.stdout[-2000:]}")
        (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")  # agents type `python`
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        log(f"importing {tag}")
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version or "latest",
                                          changes=[f"ENV PATH={SYSTEM_PATH}", "ENV LANG=C.UTF-8"])
    if not image_exists(tag, client):
        raise SandboxError(f"importing {tag} did not produce the image")
    return tag
