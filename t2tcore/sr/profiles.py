"""Effort knobs of the SR chapters (05 and 06) per book profile: ``smoke``, ``quick``, ``paper``.

The book build passes only ``profile``, ``data_root`` and ``out_dir`` to a chapter; everything
else that changes with the profile is looked up here (:func:`chapter_settings`), so the
chapters' numbers are reproducible from the profile name alone.

``paper``
    The paper's settings for a GPU: the ``paper`` model presets, Adam with peak learning rate
    1e-4 (500 warm-up steps, cosine), batch 32, at most 1000 epochs (an epoch = one random patch
    of every training series, as a random-crop data loader gives), every model trained on every
    simulation, three seeds of VDSR and U-Net, validation on 1024 fixed patches, whole test
    volumes, SSIM 2-D and 3-D, FID (where a set has 300 slices or more) and KID on 16 slices
    per test volume.
``quick``
    What two CPU cores do in the book's time budget: the ``small`` presets, batches of 4
    patches of 16 x 32 x 32, peak learning rate 2e-3 (VDSR 1e-3: at 2e-3 one of three VDSR seeds
    lost its ReLUs within 40 steps and stayed the identity; 50 warm-up steps, then a cosine to the
    cap), step caps by the cost of a step (U-Net 900, VDSR 300, ESRResNet 150; ESRGAN 60
    adversarial steps starting from the ESRResNet of the same simulation and seed, as ESRGAN
    itself is trained), early stopping by the convergence rule (:mod:`t2tcore.sr.convergence`;
    smoothed over 2 evaluations, 8 evaluations per run) from half the cap on, 160 fixed
    validation patches. Seeds: 3 of VDSR and U-Net on ``average``, ``placed_average`` and
    ``proposed`` (the ablation), 1 of ESRResNet and ESRGAN, 1 of VDSR and of U-Net on the
    calibrated profile: 24 runs. Metrics on the central 16 thin slices of every test volume,
    inside the body's bounding box (every model predicts each case once; at about two dozen
    models inference is most of the chapter's scoring time, and 16 slices + 2 x 4 halo keep it
    within the budget while leaving 6 slices of room for the edge displacement along z). The caps are what the book's time budget affords on two
    shared CPU cores, not what convergence needs: measured while choosing them (quick cohort,
    proposed pairs, validation L2 / untrained model), U-Net reached 0.42 after 1200-1500
    steps with its last quarter still improving by about 6 % (± 2 % over 64 validation
    patches, whose loss five patches dominate: hence 160), VDSR 0.58 after 400 steps, still
    falling. The chapter says per run whether it converged. The learning rate is larger than
    the paper's 1e-4 because a CPU affords few steps (VDSR-small's validation MSE fell by 7 %
    with 1e-4 and 28 % with 1e-3 after 200 steps of 4 x 16 x 48 x 48).
    No FID or KID: a distribution distance needs dozens (KID) to hundreds (FID) of slices per
    set, each one an InceptionV3 pass on the CPU, for the real thin set and every model and seed
    (:func:`t2tcore.sr.study.fid_note` says so on the page).
``smoke``
    A few steps of everything, so that CI runs the chapters' code paths (numbers mean nothing);
    no FID (its network takes minutes on a busy CPU; the tests cover it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from t2tcore.sr.config import TrainConfig

__all__ = ["ChapterSettings", "PROFILES", "chapter_settings", "train_config"]


@dataclass(frozen=True)
class ChapterSettings:
    """What chapters 05 and 06 do at one profile.

    Attributes
    ----------
    profile : str
    preset : {"small", "paper"}
        Model size trained and evaluated in chapter 05.
    models : tuple of str
        Models trained on every method of ``methods``.
    methods : tuple of str
        Training simulations of every model (Table IV: the paper's two).
    ablation_models, ablation_methods : tuple of str
        Extra training simulations (``placed_average``, ``calibrated``) for these models.
    seeds : dict
        Model (or ``"model/method"``) -> the training seeds of its runs (:meth:`seeds_for`;
        default one seed, 0). Each seed changes the initial weights and the patches; ESRGAN
        seed ``k`` starts from ESRResNet seed ``k`` of the same simulation.
    steps : int or None
        Step cap per model (None: from ``epochs``); training stops earlier when converged.
    step_caps : dict
        Model -> its own step cap (models whose steps cost less can take more of them).
    epochs : int or None
        Epochs of one random patch per training series (``steps = epochs * ceil(n / batch)``).
    gan_steps : int or None
        ESRGAN: step cap of the adversarial training that starts from the ESRResNet of the same
        simulation and seed (None: ESRGAN trained from scratch for ``steps``/``epochs``).
    batch, patch, lr, val_patches, adv_weight : training settings
    model_lr : dict
        Model -> its own peak learning rate (default ``lr``).
    val_every : int or None
        Steps between validation losses (None: the step cap / (4 x ``converge_smooth``), so that
        the convergence rule has ``converge_smooth`` evaluations to smooth in the last quarter).
    schedule, warmup, min_lr_ratio : the learning-rate schedule (:mod:`t2tcore.sr.convergence`)
    converge_tol, converge_window, converge_smooth, min_fraction, early_stop : the convergence rule
        (:func:`t2tcore.sr.convergence.check`): converged when the validation loss, smoothed over
        ``converge_smooth`` evaluations, improved by less than ``converge_tol`` (plus twice its
        noise) over the last ``converge_window`` of the steps; no early stop before
        ``min_fraction`` of the step cap (the cosine has then halved the learning rate).
    eval_slices : int or None
        Thin slices per test volume that are scored (the central ones; None: all covered).
    eval_margin_px : int or None
        In-plane margin around the body's bounding box (None: whole slices).
    eval_halo : int
        Extra slices on each side fed to the model (not scored), so the scored slices do not
        see the input's edges.
    ssim_modes : tuple of str
    fid_slices : int
        Slices per test volume that go into KID and FID (0: neither; FID only where a set has
        :data:`t2tcore.evaluation.metrics.FID_MIN_SLICES` slices).
    calibrate : bool
        Fit a slice profile on one paired test patient (then left out of the test).
    bench_presets : tuple of str
        Chapter 06: the presets timed.
    bench_crop_paper : (int, int, int)
        Chapter 06: size of the volume the ``paper`` presets are timed on where a whole
        volume would take too long (None: a whole test volume).
    bench_repeats : int
        Chapter 06: timed repetitions.
    """

    profile: str
    preset: str
    models: tuple = ("vdsr", "unet", "esrresnet", "esrgan")
    methods: tuple = ("proposed", "average")
    ablation_models: tuple = ("vdsr",)
    ablation_methods: tuple = ("placed_average", "calibrated")
    seeds: dict = field(default_factory=dict)
    steps: int | None = 120
    step_caps: dict = field(default_factory=dict)
    epochs: int | None = None
    gan_steps: int | None = 40
    batch: int = 4
    patch: tuple = (16, 40, 40)
    lr: float = 1e-3
    model_lr: dict = field(default_factory=dict)
    val_every: int | None = 25
    val_patches: int = 16
    adv_weight: float = 1e-3
    schedule: str = "cosine"
    warmup: int = 0
    min_lr_ratio: float = 0.02
    converge_tol: float = 0.02
    converge_window: float = 0.25
    converge_smooth: int = 3
    min_fraction: float = 0.5
    early_stop: bool = True
    eval_slices: int | None = 16
    eval_margin_px: int | None = 4
    eval_halo: int = 4
    ssim_modes: tuple = ("2d",)
    fid_slices: int = 0
    calibrate: bool = True
    bench_presets: tuple = ("small", "paper")
    bench_crop_paper: tuple | None = (16, 64, 64)
    bench_repeats: int = 1
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in ("esrgan",):
            if self.gan_steps is not None and m in self.models and "esrresnet" in self.models:
                for meth in {meth for mm, meth in self.runs() if mm == m}:
                    missing = set(self.seeds_for(m, meth)) - set(self.seeds_for("esrresnet", meth))
                    if missing:
                        raise ValueError(f"ESRGAN seed(s) {sorted(missing)} on {meth} have no ESRResNet to start from")

    def n_steps(self, n_series: int, model: str | None = None) -> int:
        """Step cap of ``model`` for ``n_series`` training series."""
        if self.steps is not None:
            return int(self.step_caps.get(model, self.steps))
        return int(self.epochs) * max(1, math.ceil(n_series / self.batch))

    def runs(self) -> list[tuple[str, str]]:
        """Every (model, method) to train, ESRResNet before ESRGAN."""
        out = [(m, s) for m in self.models for s in self.methods]
        out += [(m, s) for m in self.ablation_models for s in self.ablation_methods if (m, s) not in out]
        return sorted(out, key=lambda r: (r[0] == "esrgan", self.models.index(r[0]) if r[0] in self.models else 99))

    def seeds_for(self, model: str, method: str | None = None) -> tuple[int, ...]:
        """The training seeds of ``model`` on ``method`` (``seeds["model/method"]``, else ``seeds[model]``, else (0,))."""
        s = self.seeds.get(f"{model}/{method}", self.seeds.get(model, (0,)))
        return tuple(int(x) for x in s)

    def n_runs(self) -> int:
        """Training runs in all (every (model, method) times its seeds; ``calibrated`` counted)."""
        return sum(len(self.seeds_for(m, s)) for m, s in self.runs())


_SEEDS_QUICK = {"vdsr": (0, 1, 2), "unet": (0, 1, 2), "esrresnet": (0,), "esrgan": (0,), "vdsr/calibrated": (0,),
                "unet/calibrated": (0,)}

PROFILES: dict[str, ChapterSettings] = {
    "smoke": ChapterSettings(
        profile="smoke", preset="small", seeds={"vdsr": (0, 1)}, steps=4, gan_steps=2, batch=2, patch=(8, 24, 24),
        val_every=2, val_patches=2, eval_slices=12, fid_slices=0, bench_presets=("small",), bench_crop_paper=None,
    ),
    "quick": ChapterSettings(
        profile="quick", preset="small", ablation_models=("vdsr", "unet"), seeds=_SEEDS_QUICK, steps=300,
        step_caps={"unet": 900, "esrresnet": 150}, gan_steps=60, patch=(16, 32, 32), lr=2e-3,
        model_lr={"vdsr": 1e-3}, warmup=50,
        val_every=None, val_patches=160, converge_smooth=2,
    ),
    "paper": ChapterSettings(
        profile="paper", preset="paper", ablation_models=("vdsr", "unet", "esrresnet", "esrgan"),
        seeds={"vdsr": (0, 1, 2), "unet": (0, 1, 2)}, steps=None, epochs=1000, gan_steps=None, batch=32,
        patch=(32, 96, 96), lr=1e-4, warmup=500, val_every=500, val_patches=1024, eval_slices=None,
        eval_margin_px=None, ssim_modes=("2d", "3d"), fid_slices=16, bench_crop_paper=None, bench_repeats=3,
    ),
}


def chapter_settings(profile: str, **overrides: Any) -> ChapterSettings:
    """The settings of ``profile`` (``overrides`` replace single fields)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    return replace(PROFILES[profile], **overrides) if overrides else PROFILES[profile]


def train_config(
    settings: ChapterSettings,
    model: str,
    method: str,
    n_series: int,
    *,
    thickness: Any = None,
    interval: Any = None,
    profile: dict | None = None,
    init_from: str | None = None,
    seed: int = 0,
    dataset: str = "ldct_gc",
) -> TrainConfig:
    """The :class:`TrainConfig` of one chapter run.

    ``thickness`` and ``interval`` (mm; a number, a list or a range, see
    :mod:`t2tcore.sr.config`) default to the real thick series of ``dataset``
    (:data:`t2tcore.evaluation.datasets.DATASETS`: ``ldct_gc`` 3 mm every 2 mm, the paper's;
    ``rplhr_ct`` 5 mm every 5 mm). ESRGAN with ``init_from`` (the cache key of an ESRResNet)
    trains ``gan_steps`` steps.
    """
    if thickness is None or interval is None:
        from t2tcore.evaluation.datasets import dataset_spec

        spec = dataset_spec(dataset)
        thickness = spec.thickness if thickness is None else thickness
        interval = spec.interval if interval is None else interval
    steps = settings.n_steps(n_series, model)
    if model == "esrgan" and init_from is not None and settings.gan_steps is not None:
        steps = int(settings.gan_steps)
    val_every = settings.val_every or max(1, steps // (4 * settings.converge_smooth))
    return TrainConfig(
        model=model, preset=settings.preset, method=method, thickness=thickness,
        interval=None if method in ("direct", "average", "gaussian") else interval,
        profile=profile if method == "calibrated" else None, patch=tuple(settings.patch), batch=settings.batch,
        steps=steps, lr=float(settings.model_lr.get(model, settings.lr)), schedule=settings.schedule,
        warmup=min(settings.warmup, steps // 4),
        min_lr_ratio=settings.min_lr_ratio, seed=seed, adv_weight=settings.adv_weight, val_every=val_every,
        val_patches=settings.val_patches, converge_tol=settings.converge_tol,
        converge_window=settings.converge_window, converge_smooth=settings.converge_smooth,
        min_steps=int(settings.min_fraction * steps), early_stop=settings.early_stop, init_from=init_from,
    )
