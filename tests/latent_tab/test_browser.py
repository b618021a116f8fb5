"""The LATENT tab in a real browser: TensorBoard on 127.0.0.1, headless Chromium, a trained run."""

from __future__ import annotations

import json
import urllib.parse

import numpy as np
import pytest
from helpers.browser import fetched, headless_chromium, require_chromium, shown_png, tensorboard
from helpers.latent_tab import pixels, train_into
from PIL import Image

from conftest import free_port, write_small_mnist

pytestmark = pytest.mark.slow
TIMEOUT = 60


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, TIMEOUT, poll_frequency=0.1).until(
        lambda d: condition(d), message=what
    )


def _query(driver, element_id: str) -> str | None:
    return driver.find_element("id", element_id).get_attribute("data-query")


def _z_of(query: str) -> list[float]:
    return [float(v) for v in urllib.parse.parse_qs(query)["z"][0].split(",")]


def test_sliders_and_the_map_decode_live_in_a_real_browser(tmp_path):
    require_chromium()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    data_dir = write_small_mnist(tmp_path / "data")
    logdir = tmp_path / "outputs"
    train_into(logdir, "trained", data_dir)
    with tensorboard(logdir, free_port()) as url, headless_chromium() as driver:
        listing = json.loads(fetched(f"{url}/data/plugin/vae_latent/runs"))
        (run,) = listing["runs"]
        driver.get(f"{url}/#vae_latent")
        frame = _wait(driver, lambda d: d.find_elements(By.TAG_NAME, "iframe"), "the tab's frame")
        assert "plugin_entry.html?name=vae_latent" in frame[0].get_attribute("src")
        tab = driver.find_element(By.XPATH, "//*[normalize-space(text())='LATENT']")
        assert tab.is_displayed()
        driver.switch_to.frame(frame[0])
        first_query = _wait(driver, lambda d: _query(d, "decoded"), "the first decoded image")
        assert _z_of(first_query) == [0.0] * 4
        sliders = driver.find_elements(By.CSS_SELECTOR, "#sliders input[type=range]")
        order = [int(s.get_attribute("data-dim")) for s in sliders]
        assert order == run["slider_order"]  # the dimensions by their KL, most used first
        before = shown_png(driver, "decoded")

        # Move the first slider by ten steps with the keyboard, as a user would.
        dim = order[0]
        sliders[0].send_keys(*[Keys.ARROW_RIGHT] * 10)
        moved = _wait(
            driver,
            lambda d: (q := _query(d, "decoded")) != first_query and _z_of(q)[dim] == 0.5 and q,
            "the image decoded after the slider moved",
        )
        after = shown_png(driver, "decoded")
        assert not np.array_equal(pixels(before), pixels(after))
        assert np.array_equal(
            pixels(after), pixels(fetched(f"{url}/data/plugin/vae_latent/decode?{moved}"))
        )
        strip = _wait(driver, lambda d: _query(d, "traversal"), "the traversal strip")
        assert strip.endswith(f"&dim={dim}")

        # Click a point of the map: the sliders take that image's posterior mean.
        points = _wait(
            driver, lambda d: d.find_elements(By.CSS_SELECTOR, "circle.point"), "the map's points"
        )
        answer = json.loads(fetched(f"{url}/data/plugin/vae_latent/map?run={run['run']}"))
        assert len(points) == len(answer["points"])
        point = points[-1]  # drawn last, so on top of any point it overlaps
        index = int(point.get_attribute("data-index"))
        point.click()
        mean = answer["points"][index]["z"]
        clicked = _wait(
            driver,
            lambda d: (q := _query(d, "decoded")) and np.allclose(_z_of(q), mean, atol=1e-6) and q,
            "the image decoded at the clicked point",
        )
        for d, value in enumerate(mean):
            assert driver.find_element(By.ID, f"value-{d}").text == f"{value:.2f}"
        assert np.array_equal(
            pixels(shown_png(driver, "decoded")),
            pixels(fetched(f"{url}/data/plugin/vae_latent/decode?{clicked}")),
        )
        _wait(driver, lambda d: _query(d, "picked") == str(index), "the clicked image")
        pair = pixels(shown_png(driver, "picked"))
        assert pair.shape[1] > 2 * pair.shape[0]  # the image beside its reconstruction

        driver.switch_to.default_content()
        screenshot = tmp_path / "latent_tab.png"
        assert driver.save_screenshot(str(screenshot))
        assert Image.open(screenshot).size[0] >= 1000
