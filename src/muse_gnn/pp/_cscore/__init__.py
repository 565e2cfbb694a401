"""CS-CORE gene–gene co-expression (Su et al. 2023, *Nat Commun* 14:4846).

Counts are modelled as ``x_ig ~ Poisson(s_i z_ig)``, with ``s_i`` the sequencing depth of cell ``i`` and
``z_ig`` the underlying expression of gene ``g`` (mean ``μ_g``, variance ``σ_gg``, covariance ``σ_gh``).
The moments are estimated by (iteratively re-weighted) least squares:

* ``μ_g`` from ``x_ig ≈ s_i μ_g`` and ``σ_gg`` from ``(x_ig − s_i μ_g)² − s_i μ_g ≈ s_i² σ_gg``, iterated with
  working variances ``w_ig = s_i μ_g + s_i² μ_g² / θ̃`` (``θ̃`` the median of ``θ_g = μ_g² / σ_gg`` over genes with
  ``θ_g > 0``; the ``σ`` regression is weighted by ``1 / w²``) until the largest change of ``log θ_g`` is below
  0.05, or for at most 11 passes;
* ``σ_gh`` from ``(x_ig − s_i μ_g)(x_ih − s_i μ_h) ≈ s_i² σ_gh`` with weights ``1 / (w_ig w_ih)``, for all pairs;
* the score statistic of ``H0: σ_gh = 0`` with variances ``s_i μ_g + s_i² σ_gg`` and a two-sided normal p-value;
* ``ρ_gh = σ_gh / sqrt(σ_gg σ_hh)``, post-processed (genes with ``σ_gg < 0`` get ``ρ = 0``, diagonal 1, clipped
  to ``[−1, 1]``).

This is an independent implementation that reproduces the outputs of the authors' Python function
``CSCORE_IRLS`` (github.com/ChangSuBiostats/CS-CORE_python), including its convergence rule, to about
``1e-13`` relative (see ``tests/test_cscore.py``). It differs in how the numbers are computed:

* the working weights are written as ``w_ig = s_i μ_g (1 + s_i κ_g)`` with ``κ_g = μ_g / θ̃``, so every weighted
  sum reduces to sums of ``r_ig = 1 / (1 + s_i κ_g)`` and the per-gene factors ``μ_g`` cancel in the ratios;
* the cells are processed in blocks of ``block_size`` rows: a sparse matrix is densified one block at a time,
  and the genes × genes cross-products are accumulated block by block (``Bᵀ B`` uses the symmetric BLAS
  kernel), so the peak memory is about ``block_size × n_genes`` plus a few ``n_genes²`` matrices instead of
  a dozen ``n_cells × n_genes`` temporaries;
* of the four ``n_cells × n_genes²`` products of the reference, only the two numerators remain on the CPU:
  both denominators are ``Σ_i s_i² / ((1 + s_i x_g)(1 + s_i x_h))`` and are obtained exactly from per-gene
  sums as divided differences (:class:`_DividedGram`), with the few nearly equal pairs summed explicitly;
* p-values are computed as ``2 Φ(−|T|) = erfc(|T| / √2)`` (accurate in the tail) instead of
  ``2 (1 − Φ(|T|))``, which rounds to 0 for ``|T| > 8.3``; the two agree to ``1e-16`` absolute;
* on a GPU (``device="cuda"`` or ``"auto"`` with CUDA available) the block arithmetic and the products run in
  :mod:`torch`; on the CPU :mod:`numpy` is used by default (faster there, see ``benchmarks/cscore.py``).

The package has one module per concept (each with its own ``__all__``):

* :mod:`._blocks`: cell row blocks of the counts (:class:`_Blocks`) and the block-size constants;
* :mod:`._irls`: the IRLS estimation of ``μ_g`` and ``σ_gg``;
* :mod:`._gram`: the divided-difference denominators (:class:`_DividedGram`);
* :mod:`._pairs`: the genes × genes products, p-values and post-processing;
* :mod:`._engine`: the driver over cell blocks and backends (:func:`_cscore_engine`);
* :mod:`._api`: the public :func:`cscore_arrays`, :func:`cscore` and :class:`CSCoreResult`.
"""

from __future__ import annotations

from ._api import CSCoreResult, cscore, cscore_arrays

__all__ = ["CSCoreResult", "cscore", "cscore_arrays"]
