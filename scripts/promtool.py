"""promtool from Debian's `prometheus` package, unpacked into build/ (nothing installed, no daemon started).

`python scripts/promtool.py check rules deploy/prometheus/alerts.yaml` runs it with those arguments;
`path()` (tests/test_alerts.py) returns it. The first use downloads the package with `apt-get download`
and extracts `usr/bin/promtool` with `dpkg-deb -x`: installing the package would also start a
Prometheus server. Only the standard library.
"""

from __future__ import annotations

import glob
import shutil
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "promtool"
BINARY = TARGET / "usr" / "bin" / "promtool"


class UnavailableError(RuntimeError):
    """promtool cannot be had here (no apt-get or dpkg-deb, or the download failed)."""


def path() -> Path:
    """promtool, fetched and unpacked on first use.

    Raises:
        UnavailableError: see the class.
    """
    if BINARY.exists():
        return BINARY
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt_get is None or dpkg_deb is None:
        raise UnavailableError("promtool needs apt-get and dpkg-deb (Debian's prometheus package)")
    with tempfile.TemporaryDirectory() as download:
        fetched = subprocess.run(  # noqa: S603  # nosec B603  (fixed tool and package names, no shell)
            [apt_get, "download", "prometheus"], cwd=download, capture_output=True, text=True, check=False
        )
        packages = glob.glob(f"{download}/prometheus_*.deb")
        if fetched.returncode != 0 or not packages:
            raise UnavailableError(f"apt-get download prometheus failed: {fetched.stderr.strip()[-300:]}")
        TARGET.mkdir(parents=True, exist_ok=True)
        subprocess.run([dpkg_deb, "-x", packages[0], str(TARGET)], check=True)  # noqa: S603  # nosec B603
    return BINARY


def main(argv: list[str]) -> int:
    try:
        tool = path()
    except UnavailableError as exc:
        print(f"promtool: {exc}", file=sys.stderr)
        return 2
    return subprocess.run([str(tool), *argv], check=False).returncode  # noqa: S603  # nosec B603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
