"""A PNG of an HTML report for the README: `python scripts/report_screenshot.py REPORT.html docs/report.png`.

Drives the OS's Chromium (/usr/bin/chromium) through Playwright, as tests/test_report_browser.py does; the
page at 1280 px wide, rendered at --scale (0.6 keeps the README's PNG under 300 KB), from the top down to
--height CSS pixels (0: the whole page).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=0, help="CSS pixels from the top (0: the whole page)")
    parser.add_argument("--scale", type=float, default=0.6)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900}, device_scale_factor=args.scale)
        page.goto(args.report.resolve().as_uri(), wait_until="load")
        if args.height:
            page.screenshot(path=str(args.png), clip={"x": 0, "y": 0, "width": args.width, "height": args.height})
        else:
            page.screenshot(path=str(args.png), full_page=True)
        browser.close()
    print(f"{args.png} ({args.png.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
