"""The image cache and loader on a synthetic folder the size of CelebA, at 64x64 in colour.

    python benchmarks/image_data.py                    # 202,599 images, as CelebA
    python benchmarks/image_data.py --images 20000     # a quicker look

Prints, each measured in a fresh process:
- the cache build rate (images decoded, cropped and written per second) and its peak memory;
- a later run's time from the command to its first training step (the cache is read);
- the loader's images per second at batch 64 and its peak memory, beside the
  `network=conv64` model's training images per second at the same batch: the
  ratio says whether the loader keeps the model busy (it must be well above 1).

The synthetic images are smooth colour fields at CelebA's 178x218, written as
JPEG. Everything lives in a scratch folder that is removed afterwards
(`--keep DIR` keeps it there for a second look).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))

from startup_latency import first_step_seconds  # noqa: E402

CELEBA_IMAGES = 202_599
PER_FOLDER = 10_000

_RSS = "int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize()"

_BUILD = f"""
import json, resource, sys, time
from vae_exp.data import ImageFolderDataModule
before = {_RSS}
started = time.perf_counter()
module = ImageFolderDataModule(path=sys.argv[1], data_dir=sys.argv[2], image_size=64, channels=3)
arrays = module.read_arrays()
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "images": len(arrays.train),
                  "cache_bytes": arrays.train.images.nbytes,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "before": before}}))
"""

_LOAD = f"""
import json, resource, sys, time
import torch
from vae_exp.data import ImageFolderDataModule
from vae_exp.models import VAE
torch.set_num_threads(2)
before = {_RSS}
module = ImageFolderDataModule(path=sys.argv[1], data_dir=sys.argv[2], image_size=64, channels=3,
                               batch_size=64)
module.setup()
batches, started, images = int(sys.argv[3]), time.perf_counter(), 0
for number, (x, _) in enumerate(module.train_dataloader()):
    images += len(x)
    if number + 1 == batches:
        break
loader_rate = images / (time.perf_counter() - started)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
anonymous = int(status["RssAnon"].split()[0]) * 1024  # not the cache's pages, which are the file's
net = {{"_target_": "vae_exp.models.networks.Conv64Encoder", "latent_dim": 10,
       "image_shape": [3, 64, 64]}}
model = VAE(encoder=net, decoder={{**net, "_target_": "vae_exp.models.networks.Conv64Decoder"}},
            latent_dim=10, optimizer={{"_target_": "torch.optim.Adam", "lr": 1e-4}})
optimizer = model.configure_optimizers()
x = x.contiguous(memory_format=torch.channels_last)
for step in range(25):
    if step == 5:
        started = time.perf_counter()
    optimizer.zero_grad()
    model.loss_terms(x).loss.backward()
    optimizer.step()
model_rate = 20 * len(x) / (time.perf_counter() - started)
print(json.dumps({{"loader": loader_rate, "model": model_rate, "peak_rss": peak, "anon": anonymous,
                  "before": before, "cache_bytes": module.splits["train"].images.nbytes}}))
"""


def _write_images(job: tuple[Path, int, int]) -> None:
    from PIL import Image

    folder, start, count = job
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(start)
    y, x = np.mgrid[0:218, 0:178] / 218.0
    for number in range(start, start + count):
        a, b, c = rng.random(3) * 6
        field = np.stack([np.sin(a * x + b * y + c), np.cos(b * x - c * y), np.sin(c * x * y + a)])
        pixels = ((field.transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{number:06d}.jpg", quality=90)


def write_folder(root: Path, images: int) -> float:
    """A flat-per-chunk folder of `images` JPEGs; returns the seconds it took."""
    started = time.perf_counter()
    jobs = [
        (root / f"part{start // PER_FOLDER:03d}", start, min(PER_FOLDER, images - start))
        for start in range(0, images, PER_FOLDER)
    ]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_write_images, jobs))
    return time.perf_counter() - started


def _python(script: str, *arguments: object) -> dict:
    env = {"PYTHONPATH": str(CHECKOUT)}
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, arguments)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=CELEBA_IMAGES)
    parser.add_argument("--batches", type=int, default=400, help="loader batches timed")
    parser.add_argument("--repeats", type=int, default=3, help="first-step runs of each kind")
    parser.add_argument("--keep", type=Path, help="a folder to keep the images and cache in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        images, data_dir = root / "images", root / "data"
        if not images.exists():
            seconds = write_folder(images, args.images)
            print(f"wrote {args.images} synthetic JPEGs (178x218) in {seconds:.0f} s")
        build = _python(_BUILD, images, data_dir)
        rate = build["images"] / build["seconds"]
        print(
            f"cache build: {build['images']} images in {build['seconds']:.1f} s = "
            f"{rate:.0f} images/s; cache {build['cache_bytes'] / 1e9:.2f} GB, "
            f"peak memory {build['peak_rss'] / 1e9:.2f} GB "
            f"({build['before'] / 1e9:.2f} GB of it before the first image: the imports)"
        )
        overrides = (
            "data=image_folder",
            f"data.path={images}",
            f"paths.data_dir={data_dir}",
            "network=conv64",
        )
        first, reference = [], []
        for _ in range(args.repeats):  # alternated with the reference run, which reads no cache
            first.append(first_step_seconds(CHECKOUT, root, overrides))
            reference.append(first_step_seconds(CHECKOUT, root))
        print(
            f"a later run's command to first step: median {statistics.median(first):.2f} s "
            f"of {args.repeats}; the reference run's, alternated: "
            f"{statistics.median(reference):.2f} s"
        )
        load = _python(_LOAD, images, data_dir, args.batches)
        print(
            f"loader at batch 64: {load['loader']:.0f} images/s; conv64 model training: "
            f"{load['model']:.0f} images/s; loader / model = {load['loader'] / load['model']:.1f}"
        )
        print(
            f"loader peak resident memory {load['peak_rss'] / 1e9:.2f} GB, "
            f"{load['before'] / 1e9:.2f} GB of it the imports; the process's own (anonymous) "
            f"memory {load['anon'] / 1e9:.2f} GB, the rest pages of the memory-mapped "
            f"{load['cache_bytes'] / 1e9:.2f} GB uint8 cache, which the kernel may drop"
        )


if __name__ == "__main__":
    main()
