"""Multi-process training with ``torch.distributed``: datasets sharded across ranks, shared layers under DDP.

Each rank (process) owns some datasets: their node features, input layers and decoders live there. The shared
layers are wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`, whose gradient all-reduce is set to a
sum (the loss is a sum over datasets, split across ranks). The cross-dataset terms need partners that may live on
other ranks, so each pass all-gathers the embeddings of every rank's datasets (:func:`gather_rows`, differentiable:
gradients go back to the rank that computed the rows) and each rank scores the pairs whose first dataset it owns.

Processes come from ``torchrun`` (``WORLD_SIZE``/``RANK``/``MASTER_ADDR`` in the environment, see
:func:`launch_kind`) or are started here with :func:`torch.multiprocessing.start_processes` when
``MuseGNN.train(devices=N)`` is called in a single process (a notebook, a script).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .._utils import parse_devices, resolve_device

__all__ = [
    "DistContext",
    "SharedForward",
    "free_port",
    "gather_rows",
    "init_from_env",
    "launch_kind",
    "local_device",
    "n_processes",
    "shard_datasets",
    "sum_allreduce_hook",
]


@dataclass
class DistContext:
    """Where this process stands in a distributed run.

    Attributes
    ----------
    rank, world_size
        This process and the number of processes.
    owners
        Rank that owns each dataset (model order).
    group
        Process group of the tensor collectives (gloo on CPU, NCCL on GPU).
    object_group
        Gloo group for Python-object collectives (checkpoints, embeddings).
    created
        Whether this code created the default process group (and so destroys it at the end).
    """

    rank: int
    world_size: int
    owners: list[int]
    group: Any = None
    object_group: Any = None
    created: bool = False

    def owned(self, rank: int | None = None) -> list[int]:
        """Datasets of ``rank`` (default: this process), in model order."""
        r = self.rank if rank is None else rank
        return [t for t, o in enumerate(self.owners) if o == r]

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_gather_object(self, obj: Any) -> list[Any]:
        if self.world_size == 1:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj, group=self.object_group)
        return out

    def gather_object(self, obj: Any) -> list[Any] | None:
        """Objects of every rank on rank 0 (``None`` elsewhere)."""
        if self.world_size == 1:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0, group=self.object_group)
        return out

    def all_reduce_sum(self, t: Tensor) -> Tensor:
        if self.world_size > 1:
            dist.all_reduce(t, group=self.group)
        return t


def shard_datasets(costs: Sequence[int], world_size: int) -> list[int]:
    """Assign datasets to ranks, largest first to the least loaded rank (deterministic); owner per dataset.

    Examples
    --------
    >>> shard_datasets([4, 1, 3, 2], 2)
    [0, 0, 1, 1]
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}.")
    if len(costs) < world_size:
        raise ValueError(
            f"{len(costs)} datasets cannot be shared among {world_size} processes: each process needs at least "
            "one dataset. Use fewer processes (devices / --nproc-per-node)."
        )
    load = [0] * world_size
    owners = [0] * len(costs)
    for t in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        r = min(range(world_size), key=lambda j: (load[j], j))
        owners[t] = r
        load[r] += int(costs[t])
    return owners


class _GatherRows(torch.autograd.Function):
    """All-gather of equally sized row blocks whose backward sums the gradients over ranks.

    Written here because ``torch.distributed.nn.functional.all_gather`` is deprecated and its gloo backward
    needs all-to-all; an all-reduce of the gathered gradient works on every backend.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any) -> Tensor:
        ctx.group, ctx.rank, ctx.n = group, dist.get_rank(group), x.shape[0]
        out = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
        dist.all_gather(out, x.contiguous(), group=group)
        return torch.cat(out)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n], None


def gather_rows(z: Tensor, n_max: int, ctx: DistContext) -> Tensor:
    """Rows of every rank, each block zero-padded to ``n_max`` rows: ``(world_size * n_max, d)``.

    Differentiable: the gradient of a block reaches the rank that computed it.
    """
    if z.shape[0] < n_max:
        z = torch.cat([z, z.new_zeros(n_max - z.shape[0], z.shape[1])])
    return _GatherRows.apply(z, ctx.group)


def sum_allreduce_hook(state, bucket):
    """DDP communication hook: sum gradients over ranks (DDP's default averages them).

    ``state`` is the process group, ``bucket`` a :class:`torch.distributed.GradBucket`.

    The training loss is a sum over datasets split across ranks, so the shared layers' gradient is the sum of
    the ranks' gradients; with it, any number of processes takes the same optimisation steps.
    """
    fut = dist.all_reduce(bucket.buffer(), group=state, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


class SharedForward(nn.Module):
    """The shared layers of a :class:`~muse_gnn.model._module.MuseModule` as one module for DDP."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.shared = module.shared
        self._encode_shared = module.encode_shared

    def forward(self, h: Tensor, nb: Any) -> Tensor:
        return self._encode_shared(h, nb)


def _env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def n_processes(devices: Any) -> int:
    """Number of processes asked for by ``devices`` (``"auto"``: 1; ``-1``: every visible GPU).

    Examples
    --------
    >>> n_processes("0,1"), n_processes(3), n_processes("auto")
    (2, 3, 1)
    """
    spec = parse_devices(devices)
    if spec == "auto":
        return 1
    if spec == -1:
        n = torch.cuda.device_count()
        if n == 0:
            raise RuntimeError("devices=-1 asks for every GPU, but no CUDA GPU is visible; pass a number of "
                               "processes (devices=2) to train on the CPU.")
        return n
    return len(spec) if isinstance(spec, list) else int(spec)


def local_device(accelerator: Any) -> torch.device:
    """The device of this rank of a ``torchrun`` job: the CPU, or the GPU numbered ``LOCAL_RANK``."""
    if resolve_device(accelerator).type == "cpu":
        return torch.device("cpu")
    return resolve_device("cuda", [int(os.environ.get("LOCAL_RANK", "0"))])


def launch_kind(strategy: str, devices: Any) -> str:
    """``"single"``, ``"rank"`` (this process is one rank of a torchrun job) or ``"spawn"`` (start processes)."""
    if strategy not in {"auto", "single", "ddp"}:
        raise ValueError(f"strategy must be 'auto', 'single' or 'ddp', got {strategy!r}.")
    in_job = _env_world_size() > 1 or (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1)
    if strategy == "single":
        if in_job:
            raise ValueError(
                "strategy='single' inside a multi-process (torchrun) job would train the same model on every rank; "
                "use strategy='auto' or 'ddp'."
            )
        return "single"
    if in_job:
        return "rank"
    n = n_processes(devices)
    if strategy == "ddp" or n > 1:
        return "spawn"
    return "single"


def init_from_env(device: torch.device) -> tuple[int, int, bool]:
    """Initialise the default process group from torchrun's environment unless it exists; ``(rank, world, created)``."""
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), True


def free_port() -> int:
    """A free TCP port on localhost (for the rendezvous of spawned processes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
