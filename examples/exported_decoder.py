"""Decode latent vectors with an exported decoder, without vae-exp or PyTorch installed.

    pip install onnxruntime numpy pillow
    python exported_decoder.py outputs/runs/<run>/exports/onnx 0,1,0,0 decoded.png

Needs only the export folder that `vae-exp-export run=RUN format=onnx` wrote.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image


def decode(folder: Path, z: list[float], label: int | None = None) -> np.ndarray:
    """The decoded image (C, H, W), values in [0, 1], of one latent vector."""
    about = json.loads((folder / "export.json").read_text())
    session = onnxruntime.InferenceSession(
        str(folder / about["decoder"]["file"]), providers=["CPUExecutionProvider"]
    )
    feeds = {"z": np.asarray([z], dtype=np.float32)}
    if about["conditional"]:  # a conditional run's decoder also takes the class number
        feeds["labels"] = np.asarray([label if label is not None else about["classes"][0]])
    (images,) = session.run(["images"], feeds)
    return images[0]


if __name__ == "__main__":
    folder, vector, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    image = decode(folder, [float(v) for v in vector.split(",")])
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(pixels[0] if len(pixels) == 1 else pixels.transpose(1, 2, 0)).save(out)
    print(out)
