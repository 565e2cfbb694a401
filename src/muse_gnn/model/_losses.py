"""Loss terms of MuSe-GNN (DESIGN §1.3), batched over dataset pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["edge_bce", "nt_xent", "weighted_similarity"]


def weighted_similarity(
    z_a: Tensor, z_b: Tensor, weight: Tensor, pair: Tensor, n_pairs: int
) -> Tensor:
    r"""Per-pair weighted cosine similarity loss :math:`-\frac{1}{|C|}\sum_{g\in C} w_g \cos(z_{t,g}, z_{u,g})`.

    Parameters
    ----------
    z_a, z_b
        Embeddings of the common genes in the two datasets of each pair, ``(n, d)``.
    weight
        Jaccard weights ``w_g``.
    pair
        Pair index of each row (``0 … n_pairs-1``).
    n_pairs
        Number of pairs.

    Returns
    -------
    ``(n_pairs,)`` losses (0 for pairs without common genes).

    Examples
    --------
    >>> import torch
    >>> z = torch.randn(4, 8)
    >>> loss = weighted_similarity(z, z, torch.ones(4), torch.tensor([0, 0, 1, 1]), 2)
    >>> torch.allclose(loss, torch.tensor([-1.0, -1.0]))
    True
    """
    cos = F.cosine_similarity(z_a, z_b, dim=-1) * weight
    total = torch.zeros(n_pairs, dtype=cos.dtype, device=cos.device).index_add_(0, pair, cos)
    count = torch.zeros(n_pairs, dtype=cos.dtype, device=cos.device).index_add_(0, pair, torch.ones_like(cos))
    return -total / count.clamp_min(1.0)


def nt_xent(anchors: Tensor, positives: Tensor, mask: Tensor, temperature: float = 0.07) -> Tensor:
    r"""NT-Xent loss per group of anchors (batched over dataset pairs).

    For anchor *i* of a group, its positive is ``positives[i]`` and the negatives are the other positives of
    the same group: :math:`-\log \frac{e^{s_{ii}/\tau}}{\sum_j e^{s_{ij}/\tau}}` with cosine similarities
    :math:`s` (the self-supervised NT-Xent of the reference code).

    Parameters
    ----------
    anchors, positives
        ``(n_groups, k, d)``, padded.
    mask
        ``(n_groups, k)`` bool, real rows.
    temperature
        :math:`\tau`.

    Returns
    -------
    ``(n_groups,)`` mean loss over each group's real anchors (0 for empty groups).

    Examples
    --------
    >>> import torch
    >>> a = torch.eye(3).unsqueeze(0)
    >>> nt_xent(a, a, torch.ones(1, 3, dtype=torch.bool)).shape
    torch.Size([1])
    """
    a = F.normalize(anchors, dim=-1)
    p = F.normalize(positives, dim=-1)
    logits = torch.bmm(a, p.transpose(1, 2)) / temperature
    logits = logits.masked_fill(~mask.unsqueeze(1), float("-inf"))
    k = logits.shape[1]
    target = torch.arange(k, device=logits.device).expand(logits.shape[0], k)
    # rows of padding would be all -inf; give them a finite dummy row and drop them below
    safe = torch.where(mask.unsqueeze(-1), logits, torch.zeros_like(logits))
    ce = F.cross_entropy(safe.reshape(-1, k), target.reshape(-1), reduction="none").reshape(mask.shape)
    ce = ce * mask
    return ce.sum(1) / mask.sum(1).clamp_min(1)


def edge_bce(
    pos_logits: Tensor,
    neg_logits: Tensor,
    pos_group: Tensor,
    neg_group: Tensor,
    n: int,
    neg_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of sampled edges, averaged per graph (``(n,)``).

    ``neg_weight`` (0 or 1 per negative) leaves out negatives that could not be drawn as true non-edges
    (``negatives="non_edges"``, :func:`~muse_gnn.model._negatives.sample_negatives`), by weight rather than by
    indexing (no host sync).
    """
    lp = F.binary_cross_entropy_with_logits(pos_logits, torch.ones_like(pos_logits), reduction="none")
    ln = F.binary_cross_entropy_with_logits(neg_logits, torch.zeros_like(neg_logits), reduction="none")
    wn = torch.ones_like(ln) if neg_weight is None else neg_weight.to(ln.dtype)
    tot = torch.zeros(n, dtype=lp.dtype, device=lp.device)
    cnt = torch.zeros(n, dtype=lp.dtype, device=lp.device)
    tot.index_add_(0, pos_group, lp).index_add_(0, neg_group, ln * wn)
    cnt.index_add_(0, pos_group, torch.ones_like(lp)).index_add_(0, neg_group, wn)
    return tot / cnt.clamp_min(1.0)
