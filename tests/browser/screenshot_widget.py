"""Take the README's screenshot of the widget mid-conversation (docs/widget.png) from a running server.

    make run &                                       # or: shopassist serve --demo (the demo sign-in)
    .venv/bin/python tests/browser/screenshot_widget.py [--url http://127.0.0.1:8000] [--out docs/widget.png]

Signs in as the first demo customer, asks for a product and an order status, and captures the page
with the open widget. Not a test: a helper to refresh the picture when the widget changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_driver import ensure_browser_tools, run_scenario  # noqa: E402

from assistant.config import REPO_ROOT, get_settings  # noqa: E402

MESSAGES = ["What's the status of my last order?", "do you have a black stapler?"]
REPLY_MS = 60_000


def conversation_steps(url: str, out: Path) -> list[dict]:
    steps: list[dict] = [
        {"do": "goto", "url": url + "/"},
        {"do": "wait", "selector": "#demo-customer:not([disabled])"},
        {"do": "click", "selector": "#sign-in"},
        {"do": "wait_text", "selector": ".sa-welcome", "text": "Hi "},
    ]
    for n, text in enumerate(MESSAGES, start=1):
        steps += [
            {"do": "fill", "selector": ".sa-input", "value": text},
            {"do": "press", "selector": ".sa-input", "key": "Enter"},
            # the shopper's message and the reply both carry a stored seq once they arrive
            {"do": "wait_count", "selector": ".sa-msg[data-seq]", "count": 2 * n, "timeout_ms": REPLY_MS},
        ]
    steps += [
        {"do": "sleep", "ms": 600},
        {"do": "click", "selector": ".sa-card-add"},
        # start the picture at the answer to the first question, so both answers show
        {"do": "eval", "as": "_", "expression": "document.querySelector('#shopassist-widget').shadowRoot"
         ".querySelectorAll('.sa-msg[data-seq]')[1].scrollIntoView({block: 'start'})"},
        {"do": "sleep", "ms": 300},
        {"do": "screenshot", "path": str(out)},
    ]
    return steps


def main() -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://{settings.host}:{settings.port}")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "widget.png")
    args = parser.parse_args()
    ensure_browser_tools()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = run_scenario(conversation_steps(args.url.rstrip("/"), args.out.resolve()),
                          viewport={"width": 1100, "height": 760})
    if not result["ok"]:
        print(result["error"], file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
