"""Array backends of the graph-construction engines: numpy on the CPU, torch on the CPU or a CUDA GPU.

:func:`muse_gnn.pp.cscore_arrays` and :func:`muse_gnn.pp.sparkx_test` process the counts in blocks; the block
arithmetic is written once against :class:`ArrayBackend`, and :func:`resolve_backend` turns the user's
``device`` / ``backend`` arguments into one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GPU_BLOCK_ENTRIES", "ArrayBackend", "resolve_backend"]

#: Target number of float64 entries of one dense working block on a GPU (256 MiB).
GPU_BLOCK_ENTRIES = 1 << 25


class ArrayBackend:
    """The few array operations the CS-CORE and SPARK-X engines need, for numpy (CPU) or torch (CPU or CUDA).

    numpy and torch share the names used here (``multiply``, ``subtract``, ``reciprocal``, ``sqrt`` with
    ``out=``, ``@``), so the block code of the engines is written once against ``self.xp``.
    """

    def __init__(self, name: str, device: Any, dtype: Any) -> None:
        self.name = name
        if name == "numpy":
            self.xp = np
            self.device = "cpu"
            self.f64 = np.float64
            self.cdt = np.dtype(dtype)
        else:
            import torch

            self.xp = torch
            self.device = device
            self.f64 = torch.float64
            self.cdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32

    @property
    def on_gpu(self) -> bool:
        """Whether the arrays live on a GPU."""
        return self.name == "torch" and self.device.type != "cpu"

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        if self.name == "numpy":
            return np.empty(shape, dtype=dtype)
        return self.xp.empty(shape, dtype=dtype, device=self.device)

    def asarray(self, a: np.ndarray, dtype: Any) -> Any:
        """Host array → backend array of ``dtype`` (no copy when numpy already has it)."""
        if self.name == "numpy":
            return np.asarray(a, dtype=dtype)
        torch = self.xp
        a = np.asarray(a)
        if not a.flags.writeable or any(st < 0 for st in a.strides):
            a = a.copy()  # torch.from_numpy warns on read-only buffers and rejects negative strides
        return torch.from_numpy(a).to(device=self.device, dtype=dtype)

    def cast(self, a: Any, dtype: Any) -> Any:
        if a.dtype == dtype:
            return a
        return a.astype(dtype) if self.name == "numpy" else a.to(dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        if self.name == "numpy":
            return np.asarray(a, dtype=np.float64)
        return a.detach().to("cpu", dtype=self.f64).numpy()

    def dot_rows(self, v: Any, a: Any) -> Any:
        """``v @ a`` for a cell vector ``v`` and a block ``a`` (cells × genes)."""
        if self.name == "numpy":
            # einsum is single-threaded but much faster than the gemv BLAS picks for a C-ordered block
            return np.einsum("i,ig->g", v, a)
        return v @ a

    def sum_prod(self, a: Any, b: Any) -> Any:
        """``Σ_i a_ig b_ig`` for each gene."""
        if self.name == "numpy":
            return np.einsum("ig,ig->g", a, b)
        return (a * b).sum(0)

    def gram(self, a: Any, out: Any | None) -> Any:
        """``aᵀ a`` (genes × genes), added to ``out`` when given."""
        g = a.T @ a  # numpy dispatches A.T @ A to the symmetric rank-k BLAS kernel
        if out is None:
            return g
        out += g
        return out


def resolve_backend(device: Any, backend: str, dtype: Any, func: str) -> ArrayBackend:
    """The backend for ``device`` (``None``/``"auto"``, ``"cpu"``, ``"cuda[:i]"``) and ``backend``.

    ``backend="auto"`` gives torch on a GPU (``"auto"`` picks CUDA when available) and numpy on the CPU;
    ``"torch"`` forces torch, also on the CPU; ``"numpy"`` forces numpy and refuses a GPU. ``func`` names the
    caller in the error messages.

    Examples
    --------
    >>> resolve_backend("cpu", "auto", "float64", "f").name
    'numpy'
    >>> resolve_backend("cpu", "torch", "float64", "f").name
    'torch'
    """
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"{func}: `dtype` must be float64 or float32, got {dtype!r}.")
    if backend not in ("auto", "numpy", "torch"):
        raise ValueError(f"{func}: `backend` must be 'auto', 'numpy' or 'torch', got {backend!r}.")
    from .._utils import resolve_device  # the package's one device resolver

    resolved = resolve_device(device, argname="device", func=func)
    torch_dev = resolved if resolved.type == "cuda" else None
    if torch_dev is not None:  # a GPU: torch does the work
        if backend == "numpy":
            raise ValueError(f"{func}: backend='numpy' runs on the CPU only; pass device='cpu'.")
        return ArrayBackend("torch", torch_dev, dtype)
    if backend == "torch":
        import torch

        return ArrayBackend("torch", torch.device("cpu"), dtype)
    return ArrayBackend("numpy", "cpu", dtype)
