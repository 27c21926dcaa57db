"""The Debian packages `make test` (and `make run`) need, installed when missing (both run this first).

Each package is found by a file it installs; what is missing is installed with apt-get when we are root,
and every install is announced on the terminal first (`make test: installing Debian packages ...`).
Not root: one line names the missing packages and the command, and the tests that need them skip
(with CI=true a skip fails). `--dry-run` prints what would be installed and installs nothing. Only the
standard library: it runs before the virtualenv exists. Tests reuse `ensure()` (tests/web, tests/support).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess  # nosec B404
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """A Debian package, the file patterns that show it is installed, and who needs it."""

    name: str
    files: tuple[str, ...]
    needed_by: str
    targets: frozenset[str] = frozenset({"test"})


_BOTH = frozenset({"test", "run"})
PACKAGES = (
    Package("chromium", ("/usr/bin/chromium",), "browser tests, tests/web/"),
    Package("postgresql", ("/usr/lib/postgresql/*/bin/initdb",), "PostgreSQL tests"),
    Package("redis-server", ("/usr/bin/redis-server",), "Redis tests"),
    Package("nodejs", ("/usr/bin/node",), "make web", _BOTH),
    Package("npm", ("/usr/bin/npm",), "make web", _BOTH),
    # `make image` and the image tests (tests/deploy): a Docker engine, and debootstrap for a local base
    # image when the official one cannot be pulled.
    Package("docker.io", ("/usr/sbin/dockerd",), "make image, tests/deploy", frozenset({"image"})),
    Package("debootstrap", ("/usr/sbin/debootstrap",), "make image", frozenset({"image"})),
)
BY_NAME = {package.name: package for package in PACKAGES}

Exists = Callable[[str], bool]


def _exists(pattern: str) -> bool:
    return bool(glob.glob(pattern))


def missing(packages: Iterable[Package], exists: Exists = _exists) -> list[Package]:
    """The packages none of whose files exist."""
    return [package for package in packages if not any(exists(pattern) for pattern in package.files)]


def describe(packages: Sequence[Package]) -> str:
    return ", ".join(f"{package.name} ({package.needed_by})" for package in packages)


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def install(packages: Sequence[Package], say: Callable[[str], None]) -> bool:
    """apt-get update and install, announced first; True when it succeeded."""
    names = [package.name for package in packages]
    say(f"installing Debian packages {describe(packages)} with apt-get (this takes a few minutes)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = shutil.which("apt-get") or "apt-get"
    subprocess.run([apt, "update", "-qq"], check=False, env=env, capture_output=True)  # noqa: S603  # nosec B603
    done = subprocess.run(  # noqa: S603  # nosec B603
        [apt, "install", "-y", "-qq", *names], check=False, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        say(f"apt-get install {' '.join(names)} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return done.returncode == 0


def ensure(
    packages: Sequence[Package],
    say: Callable[[str], None],
    *,
    dry_run: bool = False,
    exists: Exists = _exists,
    root: bool | None = None,
) -> list[Package]:
    """Install what is missing when possible; returns what is still missing afterwards."""
    absent = missing(packages, exists)
    if not absent:
        return []
    command = "apt-get install -y " + " ".join(package.name for package in absent)
    if dry_run:
        say(f"would install Debian packages {describe(absent)}: {command}")
        return absent
    if not (can_install() if root is None else root):
        say(f"missing Debian packages {describe(absent)}; their tests skip. Install them as root: {command}")
        return absent
    install(absent, say)
    return missing(absent, exists)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--for", dest="target", choices=("test", "run", "image"), default="test", help="which make target"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be installed, install nothing")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"make {args.target}: {message}", file=sys.stderr, flush=True)

    needed = [package for package in PACKAGES if args.target in package.targets]
    still = ensure(needed, say, dry_run=args.dry_run)
    # Failing here is for CI, where a skipped test fails anyway; elsewhere the tests that need them skip.
    return 1 if still and not args.dry_run and os.environ.get("CI") == "true" else 0


if __name__ == "__main__":
    sys.exit(main())
