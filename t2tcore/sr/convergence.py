"""When SR training has converged, and the learning rate on the way there.

**Learning rate** (:func:`lr_factor`): a linear warm-up over ``warmup`` steps from ``lr / warmup``
to ``lr``, then (``schedule="cosine"``) a half cosine from ``lr`` down to ``min_lr_ratio * lr`` at the
step cap ``steps``, or (``"constant"``) ``lr`` throughout. The factor is a pure function of the
step, so a resumed run continues with the rate an uninterrupted one would have used.

**Converged** (:func:`check`), evaluated at every validation step ``s`` (every ``val_every``
steps) once ``s >= min_steps``:

* the validation loss is the mean L2 over a *fixed* set of ``n`` validation patches (the same
  patches at every evaluation; held-out patients); ``S(t)`` is its mean over the ``smooth``
  evaluations ending at step ``t`` (smoothing the step-to-step jitter of SGD);
* the reference step ``s0`` is the last evaluation at or before ``(1 - window) * s`` (``window``
  = 0.25: the last quarter of the training so far); at least ``smooth`` evaluations must lie
  after it, so that the two smoothed values share none;
* the **improvement** over the last quarter is ``(S(s0) - S(s)) / S(s0)``;
* its **noise** is the standard error of that relative change due to the finite validation
  set, from the paired per-patch differences of the two smoothed values:
  ``sd(L_i(s0) - L_i(s)) / sqrt(n) / S(s0)``, with ``L_i(t)`` patch ``i``'s loss averaged over
  the same evaluations as ``S(t)``;
* the run has **converged** when ``improvement < tol`` and ``noise < tol`` (``tol`` = 0.02): the
  last quarter of training improved the smoothed loss by less than 2 %, measured on enough
  fixed patches that the validation set's own noise on that change is below 2 %. A validation
  set too small to resolve a 2 % change can therefore never declare a run converged (the note
  says so), however flat its curve looks; both numbers are recorded, so a reader can apply a
  stricter rule (e.g. ``improvement + 2 * noise < tol``, the upper end of its 95 % interval).

A run whose validation loss flattened **without having learned** (its best loss not even
``tol`` below the untrained model's: e.g. a VDSR whose ReLUs died, which then stays the identity)
has not converged to anything: :func:`note` says so and it is not counted as converged
(:func:`learned`).

Training stops at the first converged evaluation (``early_stop``) or at the step cap, and keeps
the weights of the evaluation with the lowest validation loss (step 0, the untrained model, is
never chosen: a model whose best trained loss is above the untrained one is reported as such,
see :func:`note`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

__all__ = ["Convergence", "check", "learned", "lr_factor", "note"]


def lr_factor(step: int, steps: int, *, schedule: str = "cosine", warmup: int = 0, min_lr_ratio: float = 0.0) -> float:
    """Multiplier of the base learning rate for optimiser step ``step`` (0-based) of at most ``steps``."""
    step, steps, warmup = int(step), max(1, int(steps)), max(0, int(warmup))
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    span = max(1, steps - warmup)
    t = min(1.0, (step - warmup) / span)
    return float(min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))


@dataclass
class Convergence:
    """The outcome of :func:`check` at one evaluation.

    Attributes
    ----------
    step, ref_step : int
        The evaluation judged and the reference step ``s0`` (-1: not judged yet).
    improvement : float
        Relative improvement of the smoothed validation loss from ``ref_step`` to ``step``.
    noise : float
        Standard error of ``improvement`` due to the finite validation set.
    converged : bool
    reason : str
        Why (not), in words.
    """

    step: int = -1
    ref_step: int = -1
    improvement: float = math.nan
    noise: float = math.nan
    converged: bool = False
    reason: str = "not judged"

    def to_dict(self) -> dict:
        return asdict(self)


def _smoothed(steps: Sequence[int], per_patch: Mapping[int, Sequence[float]], upto: int, smooth: int) -> np.ndarray:
    """Each patch's loss averaged over the ``smooth`` evaluations ending at ``upto``."""
    idx = [s for s in steps if s <= upto][-max(1, int(smooth)):]
    return np.mean([np.asarray(per_patch[s], dtype=np.float64) for s in idx], axis=0)


def check(
    per_patch: Mapping[int, Sequence[float]],
    *,
    tol: float = 0.02,
    window: float = 0.25,
    smooth: int = 3,
    min_steps: int = 0,
) -> Convergence:
    """Judge the latest evaluation (see the module docstring).

    Parameters
    ----------
    per_patch : mapping
        Evaluation step -> the L2 of every fixed validation patch at that step (step 0: the
        untrained model; its entry is not used as a reference before ``window`` allows it).
    tol, window, smooth, min_steps
        The rule's parameters.

    Returns
    -------
    Convergence
    """
    steps = sorted(int(s) for s in per_patch if int(s) > 0)
    if not steps:
        return Convergence(reason="no validation evaluations")
    s = steps[-1]
    if s < int(min_steps):
        return Convergence(step=s, reason=f"before the minimum of {int(min_steps)} steps")
    cands = [t for t in sorted(int(t) for t in per_patch) if t <= (1.0 - window) * s and t < s]
    if not cands or len([t for t in steps if t > cands[-1]]) < max(1, int(smooth)):
        return Convergence(step=s, reason=f"too few evaluations in the last quarter to judge (need {int(smooth)})")
    s0 = cands[-1]
    evals = sorted(int(t) for t in per_patch)
    a, b = _smoothed(evals, per_patch, s0, smooth), _smoothed(evals, per_patch, s, smooth)  # per patch
    ref, now = float(a.mean()), float(b.mean())
    n = a.size
    noise = float(np.std(a - b, ddof=1) / math.sqrt(n) / ref) if n > 1 and ref > 0 else math.inf
    impr = (ref - now) / ref if ref > 0 else 0.0
    ok = impr < tol and noise < tol
    if ok:
        why = (f"converged: the smoothed validation loss improved by {100 * impr:.2f} % (± {100 * noise:.2f} % s.e.) "
               f"over steps {s0}-{s}, below {100 * tol:g} %")
    elif noise >= tol:
        why = (f"validation noise too large to tell: ± {100 * noise:.2f} % s.e. on a {100 * tol:g} % threshold "
               f"(improvement {100 * impr:.2f} % over steps {s0}-{s})")
    else:
        why = f"still improving: {100 * impr:.2f} % (± {100 * noise:.2f} % s.e.) over steps {s0}-{s}"
    return Convergence(step=s, ref_step=s0, improvement=float(impr), noise=noise, converged=bool(ok), reason=why)


def learned(val_untrained: float, val_best: float, tol: float = 0.02) -> bool:
    """Whether the best validation loss is more than ``tol`` (relative) below the untrained model's."""
    return bool(math.isfinite(val_untrained) and math.isfinite(val_best) and val_best < (1.0 - tol) * val_untrained)


def note(conv: Convergence, *, steps: int, cap: int, val_untrained: float, val_best: float, tol: float = 0.02) -> str:
    """The run's note in words: converged or why not, and whether it learned at all or ended worse than untrained."""
    if conv.converged and math.isfinite(val_best) and not learned(val_untrained, val_best, tol):
        parts = [f"NOT converged: the validation loss flattened at {val_best / val_untrained:.3f} x the untrained "
                 f"model's, i.e. the model did not learn (e.g. dead units); {conv.reason}"]
    elif conv.converged:
        parts = [conv.reason + (f"; stopped early at step {steps} of at most {cap}" if steps < cap else "")]
    elif steps >= cap:
        parts = [f"step cap {cap} reached; {conv.reason}"]
    else:
        parts = [f"interrupted at step {steps} of {cap}; {conv.reason}"]
    if math.isfinite(val_untrained) and math.isfinite(val_best) and val_best >= val_untrained:
        parts.append(f"WORSE than untrained (linear interpolation) on validation: L2 ratio {val_best / val_untrained:.3f}")
    return "; ".join(parts)
