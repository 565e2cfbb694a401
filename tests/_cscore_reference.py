"""The naive CS-CORE reference: the published algorithm transcribed line by line with dense numpy arrays.

One copy, used as an independent check by ``tests/test_cscore.py`` and as the baseline of
``benchmarks/cscore.py`` (which puts ``tests/`` on its path). Every step materialises ``cells × genes`` arrays
and the four ``genes × genes`` products are full matrix products, as in the published code.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["naive_cscore"]


def naive_cscore(X: np.ndarray, s: np.ndarray, post_process: bool = True):
    """CS-CORE of counts ``X`` (cells × genes) with sequencing depths ``s``: ``(est, p_value, test_stat, n_iter)``."""
    X = np.asarray(X, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    s2 = s * s
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = s @ X / s2.sum()
        M = np.outer(s, mu)
        sig = s2 @ ((X - M) ** 2 - M) / (s2 * s2).sum()
        theta = mu**2 / sig
        j, delta = 0, np.inf
        while delta > 0.05 and j <= 10:
            prev = theta.copy()
            prev[prev < 0] = np.inf
            tm = np.median(theta[theta > 0])
            w = M + np.outer(s2, mu**2 / tm)
            w[w <= 0] = 1
            mu = (s @ (X / w)) / (s2 @ (1 / w))
            M = np.outer(s, mu)
            h = (M**2 / tm + M) ** 2
            h[h <= 0] = 1
            sig = s2 @ (((X - M) ** 2 - M) / h) / ((s2 * s2) @ (1 / h))
            theta = mu**2 / sig
            j += 1
            sub = (prev > 0) & (theta > 0)
            delta = np.max(np.abs(np.log(theta[sub]) - np.log(prev[sub])))
        tm = np.median(theta[theta > 0])
        w = M + np.outer(s2, mu**2 / tm)
        w[w <= 0] = 1
        Xc = X - M
        Xw = Xc / w
        covar = ((s2[:, None] * Xw).T @ Xw) / ((s2[:, None] / w).T @ (s2[:, None] / w))
        Sg = M + np.outer(s2, sig)
        Xw = Xc / Sg
        T = ((s2[:, None] * Xw).T @ Xw) / np.sqrt((s2[:, None] / Sg).T @ (s2[:, None] / Sg))
        p_value = 2 * ndtr(-np.abs(T))
        neg = sig < 0
        sd = np.sqrt(np.where(neg, 1.0, sig))
        est = covar / np.outer(sd, sd)
    est[neg, neg] = np.inf
    if post_process:
        bad = np.diag(est) == np.inf
        est[bad, :] = 0
        est[:, bad] = 0
        np.fill_diagonal(est, 1)
        np.clip(est, -1, 1, out=est)
    return est, p_value, T, j
