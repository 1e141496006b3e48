"""End to end in a real browser: ``continuo app`` on a loopback port, driven by headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``.ci/run`` installs them) and Selenium; skips cleanly without them.
Nothing is downloaded: Selenium is pointed at those two files. The test types a seed, clicks a
key, generates, finds the players and download buttons, composes on the Piano page, uploads a
short recording and extends it, and saves a screenshot of each page: to ``docs/screenshots/``
with ``CONTINUO_SCREENSHOTS=1`` (to the folder it names, for any other value), else to a
temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_fixtures import models_folder, synthetic_recording, train_piano_run

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 90
WORK_S = 180

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
pytest.importorskip("streamlit")
pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


def screenshot_dir(tmp_path: Path) -> Path:
    value = os.environ.get("CONTINUO_SCREENSHOTS", "").strip()
    if not value or value == "0":
        return tmp_path / "screenshots"
    return REPO / "docs" / "screenshots" if value == "1" else Path(value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, melody_run: Path) -> dict[str, object]:
    """The ``--models`` folder and the model labels to pick (None: the page's default).

    Normally the tiny test models, or the bundled ``folk`` model for melodies when it is there;
    ``CONTINUO_BROWSER_MODELS=DIR`` serves DIR instead and keeps each page's first model (for
    screenshots with real models).
    """
    custom = os.environ.get("CONTINUO_BROWSER_MODELS", "").strip()
    if custom:
        return {"dir": Path(custom), "melody": None, "piano": None}
    from continuo.app.models import MELODY, discover_models

    root = tmp_path_factory.mktemp("browser")
    piano_run = train_piano_run(root / "piano", epochs=3)
    bundled = [i.label for i in discover_models(None) if i.kind == MELODY and i.bundled]
    return {
        "dir": models_folder(root / "models", melody_tiny=melody_run, piano_tiny=piano_run),
        "melody": bundled[0] if bundled else "melody-tiny",
        "piano": "piano-tiny",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: dict[str, object]) -> Iterator[str]:
    """``continuo app`` on 127.0.0.1 serving ``models``; its URL. Always stopped afterwards."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    log_path = root / "server.log"
    command = [sys.executable, "-m", "continuo", "app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--models", str(models["dir"]), "--max-upload-mb", "5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"continuo app exited early:\n{log_path.read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
            ):
                if response.read().strip() == b"ok":
                    break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"continuo app did not answer in {STARTUP_S} s:\n{log_path.read_text()}"
                )
            time.sleep(0.3)
        assert f"continuo app: {url}" in log_path.read_text()
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from start_chromium(tmp_path_factory)


@pytest.fixture(scope="module")
def singing_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Chromium whose microphone plays a rendered flute tune ("Alle meine Entchen")."""
    from continuo.io.audio import write_audio
    from tests.test_transcription import ENTCHEN, SR, render

    take, _ = render(ENTCHEN, 73, 100.0)
    path = write_audio(tmp_path_factory.mktemp("mic") / "take.wav", take.samples, SR)
    yield from start_chromium(
        tmp_path_factory,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={path}",
    )


def start_chromium(tmp_path_factory: pytest.TempPathFactory, *extra: str) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--window-size=1100,900",
        "--lang=en-US",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        *extra,
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    except WebDriverException as error:
        pytest.skip(f"headless Chromium does not start here: {error.msg}")
    driver.set_page_load_timeout(STARTUP_S)
    try:
        yield driver
    finally:
        driver.quit()


# -- helpers -----------------------------------------------------------------------------------
def wait_for(driver: WebDriver, css: str, count: int = 1, timeout: float = WORK_S) -> list:
    """The visible elements matching ``css`` once there are at least ``count`` of them."""

    def found(_: WebDriver) -> list | bool:
        elements = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return elements if len(elements) >= count else False

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(found)


def idle(driver: WebDriver, timeout: float = WORK_S) -> None:
    """Wait until the script run is over (no spinner, no 'running' status widget)."""
    time.sleep(0.4)
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        lambda d: (
            not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
            and not d.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]')
        )
    )


def button(driver: WebDriver, text: str) -> WebElement:
    for element in wait_for(driver, '[data-testid="stBaseButton-primary"], button'):
        if element.text.strip().endswith(text):
            return element
    raise AssertionError(f"no button {text!r}")


def open_page(driver: WebDriver, url: str, title: str) -> None:
    driver.get(url)
    WebDriverWait(driver, STARTUP_S).until(
        lambda d: any(title in h.text for h in d.find_elements(By.TAG_NAME, "h1"))
    )
    idle(driver)


def choose(driver: WebDriver, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    wait_for(driver, f'input[role="combobox"][aria-label="{label}"]')[0].click()
    for item in wait_for(driver, '[role="option"]'):
        if item.text.strip() == option:
            item.click()
            idle(driver)
            return
    raise AssertionError(f"no option {option!r} in {label!r}")


def save_screenshot(driver: WebDriver, folder: Path, name: str) -> Path:
    """A PNG of the whole page (the window grown to the content's height), made small."""
    from PIL import Image

    height = driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]');"
        "return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);"
    )
    size = driver.get_window_size()
    driver.set_window_size(size["width"], min(int(height) + 40, 4000))
    driver.execute_script(
        "window.scrollTo(0, 0);"
        "const m = document.querySelector('[data-testid=\"stMain\"]'); if (m) m.scrollTo(0, 0);"
    )
    time.sleep(0.6)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    return path


def no_exception(driver: WebDriver) -> None:
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')


# -- the test ----------------------------------------------------------------------------------
def test_every_page_in_a_real_browser(
    server: str, browser: WebDriver, models: dict[str, object], tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)

    # Melody: type a seed, click a key, generate two variations
    open_page(browser, f"{server}/", "Melody")
    if models["melody"]:
        choose(browser, "Model", str(models["melody"]))
    seed = wait_for(browser, 'input[aria-label="Seed melody"]')[0]
    seed.send_keys(Keys.CONTROL, "a")
    seed.send_keys(Keys.DELETE, "67 _ 67 _ 65 64 _ r 62 _ 64 _ 65 _ _ _", Keys.ENTER)
    idle(browser)
    button(browser, "G4").click()
    idle(browser)
    value = wait_for(browser, 'input[aria-label="Seed melody"]')[0].get_attribute("value")
    assert value == "67 _ 67 _ 65 64 _ r 62 _ 64 _ 65 _ _ _ G4 _"
    button(browser, "Generate").click()
    wait_for(browser, '[data-testid="stAudio"]', count=2)
    idle(browser)
    no_exception(browser)
    downloads = wait_for(browser, '[data-testid="stDownloadButton"]', count=6)
    assert [d.text.strip().split()[-1] for d in downloads[:3]] == ["MIDI", "MusicXML", "WAV"]
    assert len(wait_for(browser, '[data-testid="stImage"] img', count=2)) == 2
    save_screenshot(browser, shots, "melody")

    # a bad seed: one line in the page, no traceback
    seed = wait_for(browser, 'input[aria-label="Seed melody"]')[0]
    seed.send_keys(Keys.CONTROL, "a")
    seed.send_keys(Keys.DELETE, "60 x 62", Keys.ENTER)
    idle(browser)
    button(browser, "Generate").click()
    [error] = wait_for(browser, '[data-testid="stAlertContentError"]')
    assert "seed token 2 'x'" in error.text
    no_exception(browser)

    # Piano: compose from nothing
    open_page(browser, f"{server}/piano", "Piano")
    if models["piano"]:
        choose(browser, "Model", str(models["piano"]))
    variations = wait_for(browser, 'input[aria-label="Variations"]')[0]
    variations.send_keys(Keys.CONTROL, "a")
    variations.send_keys(Keys.DELETE, "1", Keys.ENTER)
    idle(browser)
    button(browser, "Generate").click()
    wait_for(browser, '[data-testid="stAudio"]')
    idle(browser)
    no_exception(browser)
    assert len(wait_for(browser, '[data-testid="stDownloadButton"]', count=3)) == 3
    save_screenshot(browser, shots, "piano")

    # Audio: upload a short recording and extend it
    recording = synthetic_recording(tmp_path / "groove.wav", bars=4)
    open_page(browser, f"{server}/audio", "Audio")
    browser.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(recording))
    wait_for(browser, '[data-testid="stFileChip"]')
    idle(browser)
    duration = wait_for(browser, 'input[aria-label="Target duration (seconds)"]')[0]
    duration.send_keys(Keys.CONTROL, "a")
    duration.send_keys(Keys.DELETE, "24", Keys.ENTER)
    idle(browser)
    button(browser, "Extend").click()
    wait_for(browser, '[data-testid="stAudio"]')
    idle(browser)
    no_exception(browser)
    [download] = wait_for(browser, '[data-testid="stDownloadButton"]')
    assert download.text.strip().endswith("groove-extended.wav")
    summary = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "p"))
    assert re.search(r"24\.0 s from 10\.0 s by structure", summary), summary
    save_screenshot(browser, shots, "audio")


def test_sing_a_seed_into_the_microphone(
    server: str, singing_browser: WebDriver, models: dict[str, object], tmp_path: Path
) -> None:
    browser = singing_browser
    open_page(browser, f"{server}/", "Melody")
    if models["melody"]:
        choose(browser, "Model", str(models["melody"]))
    for label in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stRadio"] label'):
        if label.text.strip() == "Sing or play":
            label.click()
            break
    idle(browser)
    record = wait_for(browser, '[data-testid="stAudioInputActionButton"]')[0]
    record.click()
    time.sleep(7.0)
    wait_for(browser, '[aria-label="Stop recording"]')[0].click()

    def heard(driver: WebDriver) -> str | bool:
        try:
            texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "p")]
        except StaleElementReferenceException:  # the page is being redrawn
            return False
        return next((text for text in texts if "Heard in" in text), False)

    assert "notes" in WebDriverWait(browser, WORK_S, poll_frequency=0.3).until(heard)
    idle(browser)
    no_exception(browser)
    seed = wait_for(browser, 'input[aria-label="Seed melody (from the take; correct any note)"]')
    notes = [t for t in seed[0].get_attribute("value").split() if t not in ("_", "r")]
    assert len(notes) >= 5 and set(notes) <= {"60", "62", "64", "65", "67", "69"}, notes
    button(browser, "Generate").click()
    wait_for(browser, '[data-testid="stAudio"]', count=3)  # the take's player, then 2 per result
    idle(browser)
    no_exception(browser)
    captions = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "p"))
    assert "Your take, then its continuation in your own sound" in captions
    save_screenshot(browser, screenshot_dir(tmp_path), "melody-sing")
