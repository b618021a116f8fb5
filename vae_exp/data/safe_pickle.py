"""Reading the pickled batches CIFAR-10 ships, without letting a pickle run code.

A pickle can name any function to call. This reader allows only what a
CIFAR-10 batch holds: dicts, lists, strings, bytes and numbers, and numpy
arrays rebuilt by numpy's own array reconstructor. Anything else is refused
with one line that names the file.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from vae_exp.foundation.errors import DataError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol 2 stores bytes written by Python 3
}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which data never need")
        return super().find_class(module, name)


def load_data_pickle(path: Path) -> Any:
    """The plain data a pickle file holds; DataError if it names anything else or is damaged."""
    try:
        return _DataOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DataError(f"{path} is not a data set's batch file: {error}") from None
