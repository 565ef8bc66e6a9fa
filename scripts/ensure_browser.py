"""Make sure the browser tests can run: Debian's Chromium at /usr/bin/chromium and the ``playwright`` Python
package (the dev extra). Run by ``make pytest`` before pytest.

Chromium comes from the distribution's packages (``apt-get install chromium``), never from
``playwright install`` (which downloads from the internet). Exits non-zero with a clear message on failure.
"""

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def fail(message: str) -> None:
    print(f"ensure_browser: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def install_chromium() -> None:
    apt = shutil.which("apt-get")
    if apt is None:
        fail(f"{CHROMIUM} is missing and apt-get is not available: install Chromium by hand.")
    sudo: list[str] = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("ensure_browser: installing Chromium from the Debian packages (apt-get)...", flush=True)
    for cmd in ([*sudo, apt, "update", "-q"], [*sudo, apt, "install", "-y", "-q", "chromium"]):
        result = subprocess.run(cmd, env=env, check=False)
        if result.returncode != 0:
            fail(
                f"'{' '.join(cmd)}' failed with exit code {result.returncode}; the browser tests need Chromium."
            )
    if not os.path.exists(CHROMIUM):
        fail(f"apt-get finished but {CHROMIUM} is still missing.")


def main() -> None:
    if not os.path.exists(CHROMIUM):
        install_chromium()
    try:
        version = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        fail(f"{CHROMIUM} does not run: {exc}")
    if version.returncode != 0:
        fail(f"{CHROMIUM} --version failed: {version.stderr.strip()}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        fail(
            f"the 'playwright' Python package is not importable ({exc}); install the dev extra: pip install -e '.[dev]'"
        )
    print(f"ensure_browser: {version.stdout.strip()} at {CHROMIUM}; playwright importable.")


if __name__ == "__main__":
    main()
