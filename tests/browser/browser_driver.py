"""Drive headless Chromium from pytest: install the browser tools if missing, run a scenario, get JSON.

Reusable by any test author::

    from browser_driver import run_scenario  # tests/browser is on sys.path (rootdir-relative)
    result = run_scenario([{"do": "goto", "url": url}, {"do": "count", "selector": ".sa-card", "as": "n"}])
    assert result["ok"], result["error"]

The steps are those of ``drive.mjs`` (goto, click, fill, press, wait, wait_text, wait_count, texts,
count, html, eval, screenshot, sleep, reload). The browser is Debian's ``chromium`` driven by the npm
package ``playwright-core``; no browser is ever downloaded by playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

BROWSER_DIR = Path(__file__).resolve().parent
DRIVER_SCRIPT = BROWSER_DIR / "drive.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


class BrowserToolsMissing(RuntimeError):
    """Chromium, node or playwright-core is not available and could not be installed."""


def ensure_browser_tools() -> None:
    """Install Debian chromium (apt) and playwright-core (npm) when they are missing."""
    if not CHROMIUM.exists():
        _run(["apt-get", "update"], "apt-get update")
        _run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], "apt-get install chromium")
    if shutil.which("node") is None or shutil.which("npm") is None:
        _run(["apt-get", "install", "-y", "--no-install-recommends", "nodejs", "npm"], "apt-get install nodejs")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        command = "ci" if (BROWSER_DIR / "package-lock.json").exists() else "install"
        _run(["npm", command, "--no-audit", "--no-fund"], "npm install", cwd=BROWSER_DIR)
    if not CHROMIUM.exists():
        raise BrowserToolsMissing(f"{CHROMIUM} is missing after installation")


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise BrowserToolsMissing(f"{what} failed: {detail[-2000:]}") from exc


def run_scenario(
    steps: list[dict[str, Any]],
    *,
    viewport: dict[str, int] | None = None,
    scale: float = 1,
    timeout_ms: int = 15_000,
    failure_screenshot: Path | None = None,
    overall_timeout_s: float = 120,
) -> dict[str, Any]:
    """Run ``steps`` in a fresh headless Chromium page and return the driver's JSON result."""
    scenario: dict[str, Any] = {"steps": steps, "timeout_ms": timeout_ms, "scale": scale}
    if viewport:
        scenario["viewport"] = viewport
    if failure_screenshot:
        scenario["failure_screenshot"] = str(failure_screenshot)
    completed = subprocess.run(
        ["node", str(DRIVER_SCRIPT)],
        cwd=BROWSER_DIR,
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        timeout=overall_timeout_s,
        env={**os.environ, "CHROMIUM": str(CHROMIUM)},
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if not lines:
        return {"ok": False, "error": f"driver printed nothing (rc={completed.returncode}): {completed.stderr[-2000:]}"}
    return json.loads(lines[-1])
