"""Take the README screenshot of the web app (not a test):

    python -m tests.app.screenshot --zoo src/stylebridge/zoo/glyphs --text Glyph --out docs/app.png
    python -m tests.app.screenshot --out docs/app.png          # a tiny random demo zoo

Serves the app from a thread, drives headless chromium like tests/app/test_browser.py, runs
one translation (all targets, with --modes variants) and saves a PNG of the whole page.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", default=None, help="zoo folder (default: a tiny random demo zoo)")
    ap.add_argument("--text", default=None, help="text input (glyph zoos); default: the first example")
    ap.add_argument("--modes", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--out", default="docs/app.png")
    args = ap.parse_args(argv)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from stylebridge.app.engine import Studio
    from stylebridge.app.jobs import JobQueue
    from stylebridge.app.server import BackgroundServer, create_app
    from stylebridge.translate.zoo import Zoo
    from tests.app.test_browser import CHROMEDRIVER, CHROMIUM, FLAGS

    with tempfile.TemporaryDirectory() as tmp:
        if args.zoo:
            zoo_dir = Path(args.zoo)
        else:
            from tests.app.conftest import make_zoo_dir
            zoo_dir = make_zoo_dir(Path(tmp) / "demo", kind="glyphs" if args.text else None,
                                   channels=1 if args.text else 3, preset="tiny-32", name="random demo models")
        studio = Studio(Zoo.from_dir(zoo_dir), default_steps=args.steps)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for f in FLAGS + [f"--user-data-dir={tmp}/profile", "--hide-scrollbars", "--force-device-scale-factor=1"]:
            opts.add_argument(f)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        try:
            with BackgroundServer(create_app(studio, JobQueue())) as url:
                driver.set_window_size(args.width, 900)
                driver.get(url)
                wait = WebDriverWait(driver, 300, poll_frequency=0.2)
                wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
                if args.text:
                    driver.find_element(By.ID, "tab-text").click()
                    driver.find_element(By.ID, "text").send_keys(args.text)
                else:
                    driver.find_element(By.ID, "tab-examples").click()
                    driver.find_element(By.CSS_SELECTOR, "#examples .example").click()
                driver.find_element(By.CSS_SELECTOR, "#options summary").click()
                modes = driver.find_element(By.ID, "modes")
                modes.clear()
                modes.send_keys(str(args.modes))
                driver.find_element(By.ID, "run").click()
                wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state")
                           in ("done", "failed", "cancelled"))
                wait.until(lambda d: d.execute_script(
                    "return [...document.images].filter(i => i.getAttribute('src'))"
                    ".every(i => i.complete && i.naturalWidth > 0)"))
                height = driver.execute_script("return document.documentElement.scrollHeight")
                chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
                driver.set_window_size(args.width, height + chrome)
                driver.execute_script("window.scrollTo(0, 0)")
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(args.out)
                print(f"saved {args.out} ({args.width}x{height})")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
