"""Writes golden fixtures as safetensors files without the `safetensors` package (not in Debian).

Format (https://huggingface.co/docs/safetensors): u64 little-endian header length, JSON header mapping each
name to {dtype, shape, data_offsets}, then the raw little-endian bytes. The C++ tests read the fixtures with
docbert's own reader (engine/safetensors.h), so every fixture also exercises that reader.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64",
           np.dtype("int32"): "I32"}


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (or torch tensor); stored in sorted name order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = tensors[name]
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.asarray(a, order="C")  # ascontiguousarray would turn a 0-d scalar into shape (1,)
        if a.dtype not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
