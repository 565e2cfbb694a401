"""IRLS estimation of the per-gene moments ``μ_g`` and ``σ_gg`` (the first stage of CS-CORE).

Reproduces the reference ``CSCORE_IRLS`` loop, including its stopping rule (largest change of ``log θ_g``
below :data:`IRLS_TOL`, at most :data:`IRLS_MAX_PASSES` passes) and its handling of negative ``θ``. The
working weights are written as ``r_ig = 1 / (1 + s_i κ_g)`` so that the per-gene factors cancel.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..._utils import logger
from ..._warnings import ConvergenceWarning
from .._backend import ArrayBackend
from ._blocks import _Blocks

__all__ = ["IRLS_MAX_PASSES", "IRLS_TOL", "_irls", "_mu_pass", "_sigma_pass", "_theta", "_theta_median"]

#: IRLS stops when the largest absolute change of ``log θ_g`` is below this (reference value).
IRLS_TOL = 0.05
#: The reference loop runs ``while delta > tol and j <= 10``: at most 11 passes.
IRLS_MAX_PASSES = 11


def _theta(mu: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return mu * mu / sigma2


def _theta_median(theta: np.ndarray) -> float:
    pos = theta[theta > 0]
    if pos.size == 0:
        raise ValueError(
            "cscore: no gene has a positive variance estimate (σ_gg > 0); the counts show no "
            "biological variation beyond Poisson noise. Use more cells or more variable genes."
        )
    return float(np.median(pos))


def _mu_pass(blocks: _Blocks, s: np.ndarray, kappa: np.ndarray, be: ArrayBackend) -> np.ndarray:
    """``μ_g = Σ_i x_ig r_ig / Σ_i s_i r_ig`` with ``r_ig = 1 / (1 + s_i κ_g)``."""
    xp = be.xp
    k = be.asarray(kappa, be.f64)
    num = den = None
    buf = None
    for i0, i1, X in blocks:
        sc = be.asarray(s[i0:i1], be.f64)
        if buf is None:
            buf = be.empty(tuple(X.shape), be.f64)
        R = buf[: i1 - i0]
        xp.multiply(sc[:, None], k[None, :], out=R)
        R += 1.0
        xp.reciprocal(R, out=R)
        a, b = be.sum_prod(X, R), be.dot_rows(sc, R)
        num = a if num is None else num + a
        den = b if den is None else den + b
    return be.to_numpy(num) / be.to_numpy(den)


def _sigma_pass(
    blocks: _Blocks, s: np.ndarray, mu: np.ndarray, kappa: np.ndarray | None, be: ArrayBackend
) -> np.ndarray:
    """``σ_gg = Σ_i q_ig ((x_ig − s_i μ_g)² − s_i μ_g) / Σ_i s_i² q_ig``.

    ``q_ig = 1 / (1 + s_i κ_g)²`` (the reference's ``1 / h`` up to the per-gene factor ``s_i² μ_g²``, which
    cancels), or ``q_ig = s_i²`` for the unweighted start (``kappa=None``).
    """
    xp = be.xp
    m = be.asarray(mu, be.f64)
    k = None if kappa is None else be.asarray(kappa, be.f64)
    num = den = None
    bufs = None
    for i0, i1, X in blocks:
        sc = be.asarray(s[i0:i1], be.f64)
        if bufs is None:
            bufs = (be.empty(tuple(X.shape), be.f64), be.empty(tuple(X.shape), be.f64))
        M, D = (b[: i1 - i0] for b in bufs)
        xp.multiply(sc[:, None], m[None, :], out=M)
        xp.subtract(X, M, out=D)
        D *= D
        D -= M  # (x - sμ)² - sμ
        if k is None:
            s2 = sc * sc
            a, b = be.dot_rows(s2, D), None
            den_add = float(be.to_numpy((s2 * s2).sum()))
        else:
            xp.multiply(sc[:, None], k[None, :], out=M)
            M += 1.0
            xp.reciprocal(M, out=M)
            M *= M  # q
            a, b = be.sum_prod(D, M), be.dot_rows(sc * sc, M)
        num = a if num is None else num + a
        if k is None:
            den = den_add if den is None else den + den_add
        else:
            den = b if den is None else den + b
    num_h = be.to_numpy(num)
    den_h = den if k is None else be.to_numpy(den)
    return num_h / den_h


def _irls(blocks: _Blocks, s: np.ndarray, be: ArrayBackend) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """μ and σ_gg by IRLS, with the reference's stopping rule; returns (μ, σ², θ̃, passes, converged)."""
    s2sum = float(np.sum(s * s))
    mu = None
    for i0, i1, X in blocks:
        part = be.to_numpy(be.dot_rows(be.asarray(s[i0:i1], be.f64), X))
        mu = part if mu is None else mu + part
    mu = mu / s2sum
    zero = mu == 0
    sigma2 = _sigma_pass(blocks, s, mu, None, be)
    theta = _theta(mu, sigma2)
    j = 0
    delta = np.inf
    # The reference overwrites negative θ by +inf *after* remembering θ as "previous" (same array), so a
    # gene whose θ turns from negative to positive makes the change infinite; this is reproduced here.
    while delta > IRLS_TOL and j < IRLS_MAX_PASSES:
        previous = theta.copy()
        previous[previous < 0] = np.inf
        tm = _theta_median(theta)
        mu = _mu_pass(blocks, s, mu / tm, be)
        mu[zero] = 0.0
        sigma2 = _sigma_pass(blocks, s, mu, mu / tm, be)
        theta = _theta(mu, sigma2)
        j += 1
        both = (previous > 0) & (theta > 0)
        if not both.any():
            _theta_median(theta)  # raises the "no positive variance" error
        with np.errstate(invalid="ignore"):
            # np.max propagates NaN (inf − inf): the reference then stops, and so does this loop
            delta = float(np.max(np.abs(np.log(theta[both]) - np.log(previous[both]))))
    converged = not (delta > IRLS_TOL)
    if converged:
        logger.info("cscore: IRLS converged after %d iteration(s).", j)
    else:
        # _irls <- _cscore_engine <- cscore / cscore_arrays <- the caller
        warnings.warn(
            f"cscore: IRLS did not converge after {j} iterations (largest change of log θ = {delta:.3g} > "
            f"{IRLS_TOL:.2g}); the estimates of the last iteration are used. Check the data (enough cells? "
            "raw counts?).",
            ConvergenceWarning,
            stacklevel=4,
        )
    return mu, sigma2, _theta_median(theta), j, converged
