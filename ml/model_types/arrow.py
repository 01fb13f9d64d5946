"""Arrow list vectors and numpy matrices, both ways: the UDFs of tree models and DNNs take one
list of values per row (`name(token, [x0, x1, ...])`) and some return one list per row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def rows_matrix(lists: pa.Array | pa.ChunkedArray, dtype: type) -> np.ndarray:
    """Equal-length lists as a matrix, one row per list (NULL elements become NaN)."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = lists.flatten().to_numpy(zero_copy_only=False).astype(dtype)
    return flat.reshape(len(lists), -1)


def list_array(rows: np.ndarray, nulls: np.ndarray | None = None) -> pa.Array:
    """A matrix as one DOUBLE list per row (NULL where `nulls` is true)."""
    rows = rows.astype(np.float64)
    offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
    mask = None if nulls is None or not nulls.any() else pa.array(nulls)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1)), mask=mask)
