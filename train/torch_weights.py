"""Read a legacy-format PyTorch state dict (.pth) into numpy arrays, without torch.

The legacy format is a chain of pickles: magic number, protocol version, system info, the state
dict (tensors refer to storages by key), the list of storage keys, then each storage's raw bytes.
The unpickler accepts only an OrderedDict, the tensor-rebuild function and storage types: anything
else in the file (code, arbitrary objects) is refused.
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _Storage:
    def __init__(self, dtype: type):
        self.dtype = dtype


class _PendingTensor:
    """A tensor whose storage bytes come later in the file."""

    def __init__(self, storage_key: str, offset: int, size: tuple, stride: tuple):
        self.storage_key, self.offset, self.size, self.stride = storage_key, offset, size, stride


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage_key, offset, size, stride, *_: _PendingTensor(storage_key, offset, size, stride)
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel, *_ = pid
        if kind != "storage" or not isinstance(storage_type, _Storage):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        self.storages[key] = storage_type.dtype
        return key


def _load(handle, storages: dict):
    """One pickle of the chain, always through the refusing unpickler: any of them could carry code."""
    return _SafeUnpickler(handle, storages).load()


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """name -> numpy array for every tensor in a legacy .pth state dict."""
    dtypes: dict[str, type] = {}
    with open(path, "rb") as handle:
        if _load(handle, dtypes) != LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy PyTorch file")
        _load(handle, dtypes)  # protocol version
        sys_info = _load(handle, dtypes)
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian files are not supported")
        state = _load(handle, dtypes)
        buffers = {}
        for key in _load(handle, dtypes):
            (numel,) = struct.unpack("<q", handle.read(8))
            dtype = np.dtype(dtypes[key])
            buffers[key] = np.frombuffer(handle.read(numel * dtype.itemsize), dtype=dtype)
    arrays = {}
    for name, tensor in state.items():
        flat = buffers[tensor.storage_key]
        itemsize = flat.dtype.itemsize
        arrays[name] = np.lib.stride_tricks.as_strided(
            flat[tensor.offset :], shape=tensor.size, strides=[s * itemsize for s in tensor.stride]
        ).copy()
    return arrays
