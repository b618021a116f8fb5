"""How live the LATENT tab is: the decode round trip over HTTP, and a slider move in Chromium.

    python benchmarks/latent_tab.py                  # trains the reference model briefly on MNIST
    python benchmarks/latent_tab.py --run outputs/runs/<run>

Starts `tensorboard --logdir` on 127.0.0.1 as a user does, then times:
- `decode` requests for random vectors (a fresh connection each, as the route's cost);
- what one slider move asks for (`decode` and `traversal`, as the page sends them, together);
- with Chromium and chromedriver present, a slider moved by a key press until the new
  picture is on the screen, as the user sees it: the page itself measures it, from the
  input event to the image's load event (`data-ms`), so WebDriver's own calls do not count.
Prints medians and 90th percentiles in milliseconds beside the 100 ms a live slider allows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' TensorBoard and Chromium helpers

from helpers.browser import CHROMEDRIVER, headless_chromium, tensorboard  # noqa: E402

from conftest import free_port  # noqa: E402

LIVE_MS = 100.0


def trained_logdir(root: Path, data_dir: str | None, batches: int) -> Path:
    """A reference run (the defaults) trained for `batches` steps, under `root/outputs`."""
    import vae_exp

    overrides = [f"paths.run_dir={root / 'outputs' / 'reference'}", "trainer.max_epochs=1"]
    overrides += [f"+trainer.limit_train_batches={batches}", "trainer.enable_progress_bar=false"]
    if data_dir:
        overrides.append(f"paths.data_dir={data_dir}")
    vae_exp.fit(vae_exp.compose(overrides))
    return root / "outputs"


def timed_get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()
    return (time.perf_counter() - start) * 1000


def figures(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    p90 = float(np.percentile(times, 90))
    return (
        f"{name}: median {median:.1f} ms, 90th percentile {p90:.1f} ms over {len(times)} "
        f"= {LIVE_MS / median:.1f}x inside {LIVE_MS:.0f} ms"
    )


def route_times(url: str, run: dict, requests: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(0)
    base = f"{url}/data/plugin/vae_latent"
    label = f"&label={run['classes'][0]}" if run["conditional"] else ""
    name = urllib.parse.quote(run["run"])

    def query() -> str:
        z = ",".join(f"{v:.3f}" for v in rng.standard_normal(run["latent_dim"]))
        return f"run={name}&z={z}{label}"

    timed_get(f"{base}/decode?{query()}")  # the first request loads the model
    decode = [timed_get(f"{base}/decode?{query()}") for _ in range(requests)]
    moves = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for _ in range(requests):
            q = query()
            start = time.perf_counter()
            list(pool.map(timed_get, [f"{base}/decode?{q}", f"{base}/traversal?{q}&dim=0"]))
            moves.append((time.perf_counter() - start) * 1000)
    return decode, moves


def browser_times(url: str, moves: int) -> list[float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    times = []
    with headless_chromium() as driver:
        driver.get(f"{url}/#vae_latent")
        wait = WebDriverWait(driver, 60, poll_frequency=0.002)
        frame = wait.until(lambda d: d.find_elements(By.TAG_NAME, "iframe"))[0]
        driver.switch_to.frame(frame)
        decoded = wait.until(lambda d: d.find_element(By.ID, "decoded"))
        wait.until(lambda d: decoded.get_attribute("data-query"))
        slider = driver.find_element(By.CSS_SELECTOR, "#sliders input[type=range]")
        for move in range(moves):
            before = decoded.get_attribute("data-query")
            slider.send_keys(Keys.ARROW_RIGHT if move % 40 < 20 else Keys.ARROW_LEFT)
            wait.until(lambda d, b=before: decoded.get_attribute("data-query") != b)
            times.append(float(decoded.get_attribute("data-ms")))  # measured by the page itself
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained run folder; default: train the reference briefly")
    parser.add_argument("--data-dir", help="where MNIST/raw/ is (default: vae-exp's own)")
    parser.add_argument("--train-batches", type=int, default=200)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--browser-moves", type=int, default=40)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        if args.run:
            logdir = Path(scratch) / "outputs"
            shutil.copytree(Path(args.run), logdir / Path(args.run).name)
        else:
            logdir = trained_logdir(Path(scratch), args.data_dir, args.train_batches)
        with tensorboard(logdir, free_port()) as url:
            listing = json.loads(
                urllib.request.urlopen(f"{url}/data/plugin/vae_latent/runs").read()
            )
            run = next(entry for entry in listing["runs"] if not entry.get("error"))
            print(f"run {run['run']}: latent size {run['latent_dim']}, images {run['image_shape']}")
            decode, moves = route_times(url, run, args.requests)
            print(figures("decode route (PNG of one vector)", decode))
            print(figures("one slider move (decode + traversal strip, together)", moves))
            if not args.no_browser and shutil.which(CHROMEDRIVER):
                print(
                    figures(
                        "Chromium: key press to the new picture",
                        browser_times(url, args.browser_moves),
                    )
                )


if __name__ == "__main__":
    main()
