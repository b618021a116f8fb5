"""A real TensorBoard server and headless Chromium, for the LATENT tab's tests and benchmark."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def require_chromium() -> None:
    """Skip where Debian's chromium and chromium-driver are missing; in CI they must be there."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"needs Debian's chromium and chromium-driver ({', '.join(missing)})")
    assert not missing, f"{missing} missing: .ci/run installs chromium and chromium-driver"


@contextlib.contextmanager
def tensorboard(logdir: Path, port: int) -> Iterator[str]:
    """`tensorboard --logdir LOGDIR` on 127.0.0.1, as a user starts it; yields its address."""
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--reload_interval", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/data/plugins_listing", timeout=5) as answer:
                    if "vae_latent" in json.load(answer):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.poll() is not None else ""
                raise AssertionError(f"TensorBoard did not start: {output[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()


@contextlib.contextmanager
def headless_chromium(width: int = 1500, height: int = 1000) -> Iterator[object]:
    """Chromium without a screen, driven by Selenium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shown_png(driver, element_id: str) -> bytes:
    """The picture an <img> of the page shows, read back from the browser's own pixels.

    Drawn onto a canvas at its natural size (the tab's CSP lets a page read its
    own images, not fetch its blob URLs) and encoded as PNG: the same pixels.
    """
    script = """
        const image = document.getElementById(arguments[0]);
        const canvas = document.createElement('canvas');
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        canvas.getContext('2d').drawImage(image, 0, 0);
        return canvas.toDataURL('image/png').split(',')[1];
    """
    return base64.b64decode(driver.execute_script(script, element_id))


def fetched(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()
