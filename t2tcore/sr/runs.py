"""What training runs did: one row per checkpoint, converged or not and why (chapter 05's ``training_runs.csv``).

A checkpoint of :func:`t2tcore.sr.train.train_model` carries a ``training`` summary (steps, the
best validation step, validation L2 against the untrained model's, the convergence rule's verdict
of :mod:`t2tcore.sr.convergence`); :func:`training_table` lays those out as a table, reading the
history of checkpoints written before the convergence rule. Chapter 05
(:mod:`t2tcore.studies.sr_training`) and the SR models of Table V (:mod:`t2tcore.clinical.sr`) use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TRAINING_COLUMNS", "training_table"]


#: Columns of :func:`training_table` (the first eleven are chapter 05's ``training_runs.csv`` contract).
TRAINING_COLUMNS = ["model", "method", "seed", "steps", "best_step", "seconds", "val_l2_untrained", "val_l2_best",
                    "val_ratio", "converged", "note", "cap", "val_ratio_se", "improvement", "noise", "lr", "batch",
                    "patch", "precision", "init_from", "cached", "label"]


def _legacy_training(c: dict) -> dict:
    """The ``training`` summary of a checkpoint written before the convergence rule (from its history)."""
    h = [e for e in c.get("history") or [] if e.get("val_loss") is not None and np.isfinite(e["val_loss"])]
    first = h[0]["val_loss"] if h else float("nan")
    best = min(h[1:], key=lambda e: e["val_loss"]) if len(h) > 1 else None
    return {"steps": int(c["step"]), "cap": int(c["config"]["steps"]), "best_step": best["step"] if best else c["step"],
            "val_l2_untrained": first, "val_l2_best": best["val_loss"] if best else float("nan"),
            "val_ratio": best["val_loss"] / first if best and first > 0 else float("nan"), "val_ratio_se": float("nan"),
            "converged": False, "convergence": {}, "precision": "fp32",
            "note": "not judged: trained before the convergence rule (no per-patch validation losses)"}


def training_table(checkpoints: dict[str, dict]) -> pd.DataFrame:
    """One row per training run: what it did and whether it converged (chapter 05's ``training_runs.csv``).

    Parameters
    ----------
    checkpoints : dict
        Label -> checkpoint (:func:`t2tcore.studies.sr_training.train_runs`, or any
        :func:`t2tcore.sr.train.train_model` checkpoints).

    Returns
    -------
    DataFrame
        :data:`TRAINING_COLUMNS`: ``model, method, seed``; ``steps`` trained and the step ``cap``;
        ``best_step`` (the weights kept: lowest validation L2); ``seconds`` of training (of the
        run that made a cached model); ``val_l2_untrained`` (the untrained model's validation L2,
        i.e. linear interpolation's, network units squared), ``val_l2_best``, ``val_ratio`` (best /
        untrained; below 1 is better than linear interpolation) and ``val_ratio_se`` (its standard
        error over the fixed validation patches); ``converged`` and ``note`` (why, or why not;
        "WORSE than untrained" when the ratio is 1 or more); the last quarter's ``improvement`` and
        its ``noise`` (:func:`t2tcore.sr.convergence.check`); ``lr, batch, patch, precision,
        init_from`` (ESRGAN: the ESRResNet it started from, by label where known), ``cached``, ``label``.
    """
    keys = {c.get("cache_key"): k for k, c in checkpoints.items() if c.get("cache_key")}
    rows = []
    for label, c in checkpoints.items():
        t = c.get("training") or _legacy_training(c)
        cfg, conv = c["config"], t.get("convergence") or {}
        init = cfg.get("init_from")
        rows.append({
            "model": c["model"]["name"], "method": c["simulation"]["method"], "seed": int(cfg.get("seed", 0)),
            "steps": int(t["steps"]), "best_step": int(t["best_step"]), "seconds": float(c.get("seconds", np.nan)),
            "val_l2_untrained": float(t["val_l2_untrained"]), "val_l2_best": float(t["val_l2_best"]),
            "val_ratio": float(t["val_ratio"]), "converged": bool(t["converged"]), "note": t["note"],
            "cap": int(t.get("cap", cfg["steps"])), "val_ratio_se": float(t.get("val_ratio_se", np.nan)),
            "improvement": float(conv.get("improvement", np.nan)), "noise": float(conv.get("noise", np.nan)),
            "lr": float(cfg["lr"]), "batch": int(cfg["batch"]), "patch": "×".join(map(str, cfg["patch"])),
            "precision": t.get("precision", ""), "init_from": keys.get(init, init) if init else "",
            "cached": bool(c.get("cached", False)), "label": label,
        })
    return pd.DataFrame(rows, columns=TRAINING_COLUMNS)
