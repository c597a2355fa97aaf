"""The web app driven in a real headless browser (Debian's chromium + chromedriver, installed by
scripts/install-browser.sh): upload an image, translate, check that the results appear and decode;
send a non-image and check the message in the page while the server keeps serving."""

import io
import json
import os
import shutil
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from stylebridge.app.engine import Studio
from stylebridge.app.jobs import JobQueue
from stylebridge.app.server import BackgroundServer, create_app
from stylebridge.translate.zoo import Zoo

CHROMIUM = os.environ.get("STYLEBRIDGE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STYLEBRIDGE_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,900"]


def _need_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        msg = f"browser tests need {', '.join(missing)} (bash scripts/install-browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(msg)  # in CI a missing browser is a set-up bug, not a reason to skip
        pytest.skip(msg)


@pytest.fixture(scope="module")
def server(zoo_dir):
    studio = Studio(Zoo.from_dir(zoo_dir), default_steps=8, default_perceptual="pixel")
    with BackgroundServer(create_app(studio, JobQueue())) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def _wait(driver, cond, timeout=20, what="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: cond(d), message=f"timed out: {what}")


def _open(driver, url):
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1", what="page ready")


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def test_upload_translate_and_results_decode(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, server)
    # an ordinary RGB photo-like upload (the test zoo is grey, 16 px: it is converted and resized)
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(photo)
    browser.find_element(By.ID, "file").send_keys(str(photo))
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chosen img"), what="upload preview")
    assert "64×48" in browser.find_element(By.ID, "chosen").text
    # targets: all but the source are ticked; leave only 'bold' and 'script', ask for 1 mode
    for cb in browser.find_elements(By.CSS_SELECTOR, "#targets input"):
        if cb.get_attribute("value") == "stranger":
            cb.click()
    browser.find_element(By.CSS_SELECTOR, "#options summary").click()
    modes = browser.find_element(By.ID, "modes")
    modes.clear()
    modes.send_keys("1")
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state") == "done",
          timeout=40, what="translation done")
    assert not browser.find_element(By.ID, "message").is_displayed()
    imgs = browser.find_elements(By.CSS_SELECTOR, "#outputs img.result")
    names = sorted(i.get_attribute("data-name") for i in imgs)
    assert names == sorted(["input.png", "reconstruction.png", "bold.png", "bold_seed0.png", "script.png",
                            "script_seed0.png"])
    for img in imgs:
        # decoded by the browser ...
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 16
        # ... and by Pillow from the bytes the page points at
        status, data = _get(img.get_attribute("src"))
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert status == 200 and im.format == "PNG" and im.size == (16, 16) and im.mode == "L"
    bold_src = [i for i in imgs if i.get_attribute("data-name") == "bold.png"][0].get_attribute("src")
    bold = np.asarray(Image.open(io.BytesIO(_get(bold_src)[1])))
    assert bold.std() > 0  # a real rendering, not a blank
    # the latent code is offered for download and loads as an .npz
    npz_href = browser.find_element(By.ID, "npz-link").get_attribute("href")
    with np.load(io.BytesIO(_get(npz_href)[1]), allow_pickle=False) as z:
        assert z["w"].shape == (1, 6, 16) and str(z["method"]) == "wplus"  # the page default for glyph zoos
    assert "done in" in browser.find_element(By.ID, "stage").text


def test_non_image_gives_message_and_server_keeps_serving(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, server)
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    browser.find_element(By.ID, "file").send_keys(str(bad))
    _wait(browser, lambda d: d.find_element(By.ID, "message").is_displayed(), what="error message")
    msg = browser.find_element(By.ID, "message").text
    assert "not an image" in msg and "notes.png" in msg
    assert "Traceback" not in browser.page_source
    # pressing Translate without a usable input explains what to do
    browser.find_element(By.ID, "run").click()
    assert "Choose an input" in browser.find_element(By.ID, "message").text
    # the server still serves: the page's API answers and a translation of an example still runs
    status, data = _get(server + "api/info")
    assert status == 200 and json.loads(data)["zoo"] == "testzoo"
    browser.find_element(By.ID, "tab-examples").click()
    browser.find_element(By.CSS_SELECTOR, "#examples .example").click()
    browser.find_element(By.ID, "no-targets").click()
    browser.find_element(By.CSS_SELECTOR, "#targets input[value=bold]").click()
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state") == "done",
          timeout=40, what="translation after the error")
    assert browser.find_elements(By.CSS_SELECTOR, "#outputs img[data-name='bold.png']")


def test_text_input_for_glyph_zoo(server, browser):
    from selenium.webdriver.common.by import By

    _open(browser, server)
    tab = browser.find_element(By.ID, "tab-text")
    assert tab.is_displayed()  # zoo.json says "kind": "glyphs"
    tab.click()
    browser.find_element(By.ID, "text").send_keys("Ab3")
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state") == "done",
          timeout=40, what="text translation done")
    img = browser.find_element(By.CSS_SELECTOR, "#outputs img[data-name='bold.png']")
    with Image.open(io.BytesIO(_get(img.get_attribute("src"))[1])) as im:
        assert im.size == (48, 16)  # three characters side by side


def test_style_strength_field_reaches_the_translation(server, browser, zoo_dir):
    """The Options' Style strength field is sent with the job: the bold output is the latent code
    drawn by bold at that strength (an empty field: each model's own, here 1)."""
    from selenium.webdriver.common.by import By

    from stylebridge.data.images import to_uint8
    from stylebridge.invert.api import render

    _open(browser, server)
    browser.find_element(By.ID, "tab-text").click()
    browser.find_element(By.ID, "text").send_keys("Hi")
    browser.find_element(By.CSS_SELECTOR, "#options summary").click()
    field = browser.find_element(By.ID, "strength")
    assert field.get_attribute("value") == "" and field.get_attribute("max") == "4"
    field.send_keys("2.5")
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state") == "done",
          timeout=40, what="translation at strength 2.5 done")
    img = browser.find_element(By.CSS_SELECTOR, "#outputs img[data-name='bold.png']")
    got = np.asarray(Image.open(io.BytesIO(_get(img.get_attribute("src"))[1])))
    with np.load(io.BytesIO(_get(browser.find_element(By.ID, "npz-link").get_attribute("href"))[1])) as z:
        ws = torch.from_numpy(z["w"])
    zoo = Zoo.from_dir(zoo_dir)
    want = [to_uint8(render(G, ws))[:, 0].numpy() for G in (zoo.model("bold", 2.5), zoo["bold"])]
    strip = np.concatenate(list(want[0]), axis=1)
    assert np.array_equal(got, strip) and not np.array_equal(got, np.concatenate(list(want[1]), axis=1))


def test_cancel_button_stops_a_long_inversion(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, server)
    browser.find_element(By.ID, "tab-examples").click()
    browser.find_element(By.CSS_SELECTOR, "#examples .example").click()
    browser.find_element(By.CSS_SELECTOR, "#options summary").click()
    Select(browser.find_element(By.ID, "method")).select_by_value("wplus")
    steps = browser.find_element(By.ID, "steps")
    steps.clear()
    steps.send_keys("2000")
    browser.find_element(By.ID, "run").click()
    _wait(browser, lambda d: "step" in d.find_element(By.ID, "stage").text, what="inversion steps reported")
    assert browser.find_element(By.ID, "run").get_attribute("disabled")
    browser.find_element(By.ID, "cancel").click()
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-job-state") == "cancelled",
          what="cancelled")
    assert browser.find_element(By.ID, "message").text == "Cancelled."
    assert browser.find_element(By.ID, "run").get_attribute("disabled") is None  # ready for the next request
