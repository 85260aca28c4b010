"""Exercise 5 of the lab: the simplest SR model (a linear filter along z, fitted by least squares), trained on
each method's pairs and tested on real thick slices."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from t2tcore.teaching.model import THIN, real_thick, thin_series, z_object

__all__ = ["LinearSR", "fit_linear_sr", "wrong_pairs"]


@dataclass(frozen=True)
class LinearSR:
    """The simplest SR model: a linear filter along z from thick slices to thin slices.

    Output thin slice ``i = p m + r`` (phase ``r``) is ``sum_k coef[r, k] thick[q m + c[r] + k - K]``:
    ``p`` thin slices per ``q`` thick slices, the geometry the model saw in training. This is
    what any SR network trained on pairs with a fixed slice-count ratio learns to assume, in
    its plainest form.

    Attributes
    ----------
    p, q : int
        Thin slices per ``q`` thick slices in the training pairs.
    centre : ndarray, shape (p,), int
        ``c[r]``: the thick slice nearest thin slice ``r`` in training.
    coef : ndarray, shape (p, 2 K + 1), float64
        The filter of each phase (the last column is a constant term when ``bias``).
    half_width : int
        ``K``.
    bias : bool
    """

    p: int
    q: int
    centre: np.ndarray
    coef: np.ndarray
    half_width: int
    bias: bool = True

    def centre_index(self, i: np.ndarray) -> np.ndarray:
        i = np.asarray(i)
        return self.q * (i // self.p) + self.centre[i % self.p]

    def predict(self, thick: np.ndarray) -> np.ndarray:
        """Thin slices from a thick volume ``(n, Y, X)``: as many as the model's geometry gives,
        ``(p / q) n`` less the ends where the filter would leave the volume."""
        thick = np.asarray(thick, dtype=np.float64)
        K = self.half_width
        n_out = int(self.p * thick.shape[0] // self.q) + self.p
        i = np.arange(n_out)
        c = self.centre_index(i)
        i = i[(c - K >= 0) & (c + K < thick.shape[0])]
        out = np.full((n_out,) + thick.shape[1:], np.nan)
        for ii in i:
            feats = thick[self.centre_index(ii) - K: self.centre_index(ii) + K + 1]
            coef = self.coef[ii % self.p]
            out[ii] = np.tensordot(coef[: 2 * K + 1], feats, axes=1) + (coef[-1] if self.bias else 0.0)
        return out


def fit_linear_sr(thick: Sequence[np.ndarray], thick_positions: Sequence[np.ndarray], thin: Sequence[np.ndarray],
                  thin_positions: Sequence[np.ndarray], half_width: int = 2, ridge: float = 1e-3,
                  bias: bool = True) -> LinearSR:
    """Fit a :class:`LinearSR` by least squares on training pairs.

    The geometry (``p``, ``q``, ``centre``) is read from the first pair's positions: ``p / q``
    is the ratio of the thick to the thin spacing (as a small fraction), and ``centre[r]``
    the thick slice nearest thin slice ``r``. Each phase's filter solves a ridge-regularised
    least-squares problem (:func:`numpy.linalg.lstsq` on the stacked normal equations).

    Parameters
    ----------
    thick, thin : sequence of ndarray, shape (n, Y, X) and (m, Y, X)
        Training pairs (same Y, X within a pair).
    thick_positions, thin_positions : sequence of ndarray
        Their slice positions, mm (regular spacing).
    half_width : int
        ``K``: the filter sees ``2 K + 1`` thick slices.
    ridge : float
        Tikhonov weight relative to the mean squared feature (>= 0).
    bias : bool
        Add a constant term.
    """
    if not (len(thick) == len(thin) == len(thick_positions) == len(thin_positions)) or not thick:
        raise ValueError("give the same (non-zero) number of thick and thin volumes and positions")
    if int(half_width) != half_width or half_width < 0:
        raise ValueError(f"half_width must be a non-negative integer, got {half_width}")
    tp, Tp = np.asarray(thin_positions[0], float), np.asarray(thick_positions[0], float)
    if tp.size < 2 or Tp.size < 2:
        raise ValueError("each series needs at least 2 slices")
    ratio = Fraction(float(np.median(np.diff(Tp)) / np.median(np.diff(tp)))).limit_denominator(8)
    p, q = ratio.numerator, ratio.denominator
    centre = np.array([int(np.argmin(np.abs(Tp - x))) for x in tp[:p]])
    K = int(half_width)
    geo = LinearSR(p, q, centre, np.zeros((p, 2 * K + 1 + bias)), K, bias)
    rows: dict[int, list] = {r: [] for r in range(p)}
    targets: dict[int, list] = {r: [] for r in range(p)}
    for T, t in zip(thick, thin):
        T = np.asarray(T, np.float64).reshape(T.shape[0], -1)
        t = np.asarray(t, np.float64).reshape(t.shape[0], -1)
        for i in range(t.shape[0]):
            c = int(geo.centre_index(i))
            if c - K < 0 or c + K >= T.shape[0]:
                continue
            f = T[c - K: c + K + 1].T  # (pixels, 2K+1)
            if bias:
                f = np.hstack([f, np.ones((f.shape[0], 1))])
            rows[i % p].append(f)
            targets[i % p].append(t[i])
    coef = np.zeros_like(geo.coef)
    for r in range(p):
        if not rows[r]:
            raise ValueError(f"no training sample for phase {r}: the series are too short for half_width={K}")
        A, b = np.vstack(rows[r]), np.concatenate(targets[r])
        lam = ridge * float(np.mean(A[:, : 2 * K + 1] ** 2))
        reg = np.sqrt(lam) * np.eye(A.shape[1])
        if bias:
            reg[-1, -1] = 0.0
        coef[r] = np.linalg.lstsq(np.vstack([A, reg]), np.concatenate([b, np.zeros(A.shape[1])]), rcond=None)[0]
    return LinearSR(p, q, centre, coef, K, bias)


def wrong_pairs(thickness: float = 3.0, interval: float = 2.0, methods: Sequence[str] = ("proposed", "average"),
                n_train: int = 4, seed: int = 10, column: int = 0) -> dict:
    """Exercise 5: train the linear SR model on each method's pairs, test on real thick slices.

    Training: ``n_train`` z-objects; thin slices through the scanner's 1 mm SSP, thick slices
    simulated from them by each method. Test: another z-object's **real** thick slices (the
    scanner's SSP at ``s + k d``) go in; the output is compared, slice by slice by index, with
    the real thin slices (RMSE in HU over the slices both have), as an SR model's output is.

    Returns
    -------
    dict
        ``table`` (method -> ``rmse``, ``n_out`` (slices the model makes), ``n_thin``, ``p``,
        ``q``), and for the drawing ``thin`` (positions, values of ``column``), ``real``
        (positions, values) and ``sr`` (method -> values by output index, NaN where the
        model makes nothing).
    """
    from t2tcore.simulation import simulate_thick

    pairs = []
    for s in range(n_train):
        obj = z_object(seed=seed + 1 + s)
        pairs.append(thin_series(obj))
    test_obj = z_object(seed=seed)
    thin, thin_pos = thin_series(test_obj)
    real, real_pos = real_thick(test_obj, thin_pos, thickness, interval, 0.9375, 0.6, "trapezoid")
    table, sr = {}, {}
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        sims = [simulate_thick(t, tp, thickness, interval, method=m, sigma=0.0, **kw) for t, tp in pairs]
        model = fit_linear_sr([v for v, _ in sims], [p for _, p in sims], [t for t, _ in pairs],
                              [tp for _, tp in pairs])
        out = model.predict(real)
        n = min(out.shape[0], thin.shape[0])
        ok = np.isfinite(out[:n, 0, 0])
        err = out[:n][ok] - thin[:n][ok]
        table[m] = {"rmse": float(np.sqrt(np.mean(err**2))), "n_out": int(np.isfinite(out[:, 0, 0]).sum()),
                    "n_thin": int(thin.shape[0]), "p": model.p, "q": model.q}
        sr[m] = out[:, 0, column]
    return {"table": table, "thin": (thin_pos, thin[:, 0, column].astype(np.float64)),
            "real": (real_pos, real[:, 0, column].astype(np.float64)), "sr": sr,
            "thickness": thickness, "interval": interval}
