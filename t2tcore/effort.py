"""The effort of each book profile (``smoke``, ``quick``, ``paper``), every knob of every chapter in one place.

The book build passes a chapter only ``profile``, ``data_root`` and ``out_dir``; everything else that
changes with the profile is an :class:`Effort`, looked up by name (:func:`effort`). The chapters'
numbers are reproducible from the profile name alone, what a profile costs is read here, and the
Reproducing page shows :func:`markdown_table` of :data:`EFFORTS`. The modules that used to hold
these knobs keep their names, read from here: ``book/builder/paths.PROFILES``,
:data:`t2tcore.studies.walkthrough.IMAGE_SIZE`, :data:`t2tcore.studies.scanner_qa.SIZES`,
:func:`t2tcore.studies.table3.effort`, :meth:`t2tcore.studies.robustness.Settings.for_profile`,
:data:`t2tcore.sr.profiles.PROFILES`, :data:`t2tcore.clinical.sr.EFFORT`,
:data:`t2tcore.studies.clinical_report.BOOTSTRAP` and :data:`t2tcore.scanner.cohorts.fibrosis.PROFILES`.
The virtual Grand Challenge cohort of chapters 01-06 is a data manifest
(``data_manifests/virtual_<profile>.yaml``, :attr:`Effort.ldct_cohort`), as ``t2t data check``
reads it too.

``smoke``
    Tiny data and a few steps of everything, so that CI runs every code path in minutes (the
    numbers mean nothing); no FID in the SR chapters (its network takes minutes on a busy CPU;
    the tests cover it).
``quick``
    What two CPU cores do in the book's time budget (the default).
``paper``
    The paper's sizes and settings, for a GPU (hours on CPUs).

The SR chapters (05, 06: :class:`ChapterSettings`):

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
    within the budget while leaving 6 slices of room for the edge displacement along z). The
    caps are what the book's time budget affords on two CPU cores, not what convergence needs
    (caps of 900/300/150/60 put the quick book over its 45 minutes here: chapter 05 alone took
    28 min on a quiet machine; a training step of 4 x 16 x 32 x 32 here takes VDSR 0.14 s,
    U-Net 0.03 s, ESRResNet 0.35 s, so these caps cost each model about the same). Measured while choosing them (quick cohort, proposed pairs, validation L2 / untrained
    model), U-Net reached 0.42 after 1200-1500 steps with its last quarter still improving by
    about 6 % (± 2 % over 64 validation patches, whose loss five patches dominate: hence 160),
    VDSR 0.58 after 400 steps, still falling. The chapter says per run whether it converged. The
    learning rate is larger than the paper's 1e-4 because a CPU affords few steps (VDSR-small's
    validation MSE fell by 7 % with 1e-4 and 28 % with 1e-3 after 200 steps of 4 x 16 x 48 x 48).
    No FID or KID: a distribution distance needs dozens (KID) to hundreds (FID) of slices per
    set, each one an InceptionV3 pass on the CPU, for the real thin set and every model and seed
    (:func:`t2tcore.studies.sr_training.fid_note` says so on the page).
``smoke``
    A few steps of everything (numbers mean nothing); no FID.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["ChapterSettings", "ClinicalEffort", "Effort", "EFFORTS", "FibrosisCohort", "RobustnessEffort",
           "effort", "markdown_table", "rows"]


# ------------------------------------------------------------------ chapters 05 and 06
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



# ----------------------------------------------------------------------- other chapters
@dataclass(frozen=True)
class RobustnessEffort:
    """Chapter 04: phantoms (the first calibrates, the others test), their image size (pixels) and
    length along z (mm), and the values of the pitch and row-width settings swept one at a time."""

    n_phantoms: int
    image_size: int
    z_length_mm: float
    pitches: tuple[float, ...]
    row_widths: tuple[float, ...]


@dataclass(frozen=True)
class FibrosisCohort:
    """Chapter 07's virtual fibrosis cohort (:mod:`t2tcore.scanner.cohorts.fibrosis`): base seed,
    image size (pixels), scanned length (mm), patients analysed, SR training patients."""

    seed: int
    image_size: int
    z_length_mm: float
    n_patients: int
    n_train: int


@dataclass(frozen=True)
class ClinicalEffort:
    """Chapter 07: its cohort, the changes to chapter 05's :class:`ChapterSettings` for its ESRGANs
    (:data:`t2tcore.clinical.sr.EFFORT`), and bootstrap resamples of the concordance."""

    cohort: FibrosisCohort
    sr_changes: Mapping[str, Any]
    bootstrap: int


@dataclass(frozen=True)
class Effort:
    """Every knob of one book profile.

    Attributes
    ----------
    profile : str
    about : str
        One line for ``make book``'s help and the build record.
    cell_timeout_s : int or None
        papermill's limit per notebook cell (None: none).
    extra : mapping
        Further build parameters passed to every notebook that declares them.
    ldct_cohort : str
        The data manifest of the virtual Grand Challenge cohort of chapters 01-06.
    walkthrough_image_size : int
        Chapter 00: pixels in-plane of the exact object.
    scanner_qa_z_mm, scanner_qa_matrix : float, int
        Chapter 01: z length (mm) scanned when no cohort is given, matrix of the water phantom.
    fid_max_slices : int or None
        Chapter 02: slices per FID set (None: all).
    fid_all_groups : bool
        Chapter 02: FID for every kernel x dose group (else the first only).
    ssim_modes : tuple of str
        Chapter 02: SSIM in 2-D, and in 3-D (the slow one).
    robustness : RobustnessEffort
        Chapter 04.
    sr : ChapterSettings
        Chapters 05 and 06.
    clinical : ClinicalEffort
        Chapter 07.
    """

    profile: str
    about: str
    cell_timeout_s: int | None
    ldct_cohort: str
    walkthrough_image_size: int
    scanner_qa_z_mm: float
    scanner_qa_matrix: int
    fid_max_slices: int | None
    fid_all_groups: bool
    ssim_modes: tuple[str, ...]
    robustness: RobustnessEffort
    sr: ChapterSettings
    clinical: ClinicalEffort
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


_SEEDS_QUICK = {"vdsr": (0, 1, 2), "unet": (0, 1, 2), "esrresnet": (0,), "esrgan": (0,), "vdsr/calibrated": (0,),
                "unet/calibrated": (0,)}

#: The three profiles.
EFFORTS: dict[str, Effort] = {
    "smoke": Effort(
        profile="smoke", about="tiny data, minutes (CI)", cell_timeout_s=900, ldct_cohort="virtual_smoke",
        walkthrough_image_size=48, scanner_qa_z_mm=16.0, scanner_qa_matrix=96,
        fid_max_slices=12, fid_all_groups=False, ssim_modes=("2d",),
        robustness=RobustnessEffort(n_phantoms=3, image_size=96, z_length_mm=38.0, pitches=(0.5, 0.9375, 1.5),
                                    row_widths=(0.5, 0.6, 0.75)),
        sr=ChapterSettings(
            profile="smoke", preset="small", seeds={"vdsr": (0, 1)}, steps=4, gan_steps=2, batch=2, patch=(8, 24, 24),
            val_every=2, val_patches=2, eval_slices=12, fid_slices=0, bench_presets=("small",), bench_crop_paper=None,
        ),
        clinical=ClinicalEffort(
            cohort=FibrosisCohort(seed=2019, image_size=96, z_length_mm=24.0, n_patients=12, n_train=2),
            sr_changes=MappingProxyType({"seeds": {}}), bootstrap=20),
    ),
    "quick": Effort(
        profile="quick", about="small data, the default", cell_timeout_s=3600, ldct_cohort="virtual_quick",
        walkthrough_image_size=96, scanner_qa_z_mm=32.0, scanner_qa_matrix=160,
        fid_max_slices=48, fid_all_groups=False, ssim_modes=("2d",),
        robustness=RobustnessEffort(n_phantoms=6, image_size=128, z_length_mm=38.0,
                                    pitches=(0.5, 0.75, 0.9375, 1.25, 1.5), row_widths=(0.5, 0.6, 0.75, 0.9)),
        sr=ChapterSettings(
            profile="quick", preset="small", ablation_models=("vdsr", "unet"), seeds=_SEEDS_QUICK, steps=200,
            step_caps={"unet": 600, "esrresnet": 100}, gan_steps=40, patch=(16, 32, 32), lr=2e-3,
            model_lr={"vdsr": 1e-3}, warmup=50,
            val_every=None, val_patches=160, converge_smooth=2,
        ),
        clinical=ClinicalEffort(
            cohort=FibrosisCohort(seed=2019, image_size=160, z_length_mm=48.0, n_patients=36, n_train=6),
            # one seed, and step caps of its own (the ESRResNet/ESRGAN caps; early stopping as chapter 05)
            sr_changes=MappingProxyType({"seeds": {}, "step_caps": {"esrresnet": 60}, "gan_steps": 25,
                                         "val_patches": 96}),
            bootstrap=100),
    ),
    "paper": Effort(
        profile="paper", about="the paper's sizes, hours", cell_timeout_s=None, ldct_cohort="virtual_paper",
        walkthrough_image_size=192, scanner_qa_z_mm=48.0, scanner_qa_matrix=256,
        fid_max_slices=None, fid_all_groups=True, ssim_modes=("2d", "3d"),
        robustness=RobustnessEffort(n_phantoms=8, image_size=256, z_length_mm=48.0,
                                    pitches=(0.5, 0.75, 0.9375, 1.25, 1.5), row_widths=(0.5, 0.6, 0.75, 0.9)),
        sr=ChapterSettings(
            profile="paper", preset="paper", ablation_models=("vdsr", "unet", "esrresnet", "esrgan"),
            seeds={"vdsr": (0, 1, 2), "unet": (0, 1, 2)}, steps=None, epochs=1000, gan_steps=None, batch=32,
            patch=(32, 96, 96), lr=1e-4, warmup=500, val_every=500, val_patches=1024, eval_slices=None,
            eval_margin_px=None, ssim_modes=("2d", "3d"), fid_slices=16, bench_crop_paper=None, bench_repeats=3,
        ),
        clinical=ClinicalEffort(
            cohort=FibrosisCohort(seed=2019, image_size=256, z_length_mm=80.0, n_patients=72, n_train=12),
            sr_changes=MappingProxyType({"seeds": {}}), bootstrap=1000),
    ),
}


def effort(profile: str) -> Effort:
    """The :class:`Effort` of ``profile``; ``ValueError`` naming the known ones otherwise."""
    if profile not in EFFORTS:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(EFFORTS)}")
    return EFFORTS[profile]


# ----------------------------------------------------------------------------- the table
def _mm(x: float) -> str:
    return f"{x:g} mm"


def _list(xs) -> str:
    return ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in xs)


def _sr_steps(s: ChapterSettings) -> str:
    if s.steps is None:
        return f"{s.epochs} epochs"
    caps = ", ".join(f"{m} {n}" for m, n in s.step_caps.items())
    return f"{s.steps}" + (f" ({caps})" if caps else "")


def _sr_changes(changes: Mapping[str, Any]) -> str:
    words = {"step_caps": "step caps", "gan_steps": "ESRGAN steps", "val_patches": "validation patches"}
    out = []
    for k, v in changes.items():
        if k == "seeds":
            out.append("one seed" if not v else f"seeds {v}")
        elif isinstance(v, Mapping):
            out.append(f"{words.get(k, k)} " + ", ".join(f"{m} {n}" for m, n in v.items()))
        else:
            out.append(f"{words.get(k, k)} {v}")
    return "; ".join(out)


def _ldct(name: str) -> str:
    from t2tcore.data.manifest_schema import load_manifest

    p = load_manifest(name)["profile"]
    return f"`{name}`: {p['n_test']} test + {p['n_train']} training patients, {p['image_size']} px, {p['z_length_mm']:g} mm"


def rows(efforts: Mapping[str, Effort] = EFFORTS) -> list[tuple[str, str, list[str]]]:
    """(chapter, knob, one value per profile) of every knob of :class:`Effort`, as the table shows them."""
    def row(chapter: str, knob: str, get) -> tuple[str, str, list[str]]:
        return chapter, knob, [str(get(e)) for e in efforts.values()]

    return [
        row("build", "what it is", lambda e: e.about),
        row("build", "time limit per notebook cell", lambda e: "none" if e.cell_timeout_s is None else f"{e.cell_timeout_s} s"),
        row("01–06", "virtual Grand Challenge cohort", lambda e: _ldct(e.ldct_cohort)),
        row("00", "exact object, pixels in-plane", lambda e: e.walkthrough_image_size),
        row("01", "scanned length without a cohort; water phantom matrix",
            lambda e: f"{_mm(e.scanner_qa_z_mm)}; {e.scanner_qa_matrix} px"),
        row("02", "slices per FID set", lambda e: "all" if e.fid_max_slices is None else e.fid_max_slices),
        row("02", "FID of", lambda e: "every kernel × dose" if e.fid_all_groups else "the first kernel × dose"),
        row("02", "SSIM", lambda e: " and ".join(m.upper() for m in e.ssim_modes)),
        row("04", "phantoms (1 calibrates)", lambda e: e.robustness.n_phantoms),
        row("04", "image size; phantom length", lambda e: f"{e.robustness.image_size} px; {_mm(e.robustness.z_length_mm)}"),
        row("04", "pitches", lambda e: _list(e.robustness.pitches)),
        row("04", "row widths (mm)", lambda e: _list(e.robustness.row_widths)),
        row("05", "model presets", lambda e: e.sr.preset),
        row("05", "training runs (models × simulations × seeds)", lambda e: e.sr.n_runs()),
        row("05", "step cap (per model)", lambda e: _sr_steps(e.sr)),
        row("05", "ESRGAN adversarial steps from ESRResNet",
            lambda e: "— (trained from scratch)" if e.sr.gan_steps is None else e.sr.gan_steps),
        row("05", "batch × patch", lambda e: f"{e.sr.batch} × {' × '.join(map(str, e.sr.patch))}"),
        row("05", "peak learning rate; warm-up steps",
            lambda e: f"{e.sr.lr:g}" + "".join(f" ({m} {v:g})" for m, v in e.sr.model_lr.items()) + f"; {e.sr.warmup}"),
        row("05", "validation patches", lambda e: e.sr.val_patches),
        row("05", "thin slices scored per test volume", lambda e: "all" if e.sr.eval_slices is None else e.sr.eval_slices),
        row("05", "SSIM", lambda e: " and ".join(m.upper() for m in e.sr.ssim_modes)),
        row("05", "slices per volume for FID and KID", lambda e: e.sr.fid_slices or "none"),
        row("06", "presets timed; repetitions", lambda e: f"{_list(e.sr.bench_presets)}; {e.sr.bench_repeats}"),
        row("07", "fibrosis cohort: patients + SR training patients",
            lambda e: f"{e.clinical.cohort.n_patients} + {e.clinical.cohort.n_train}"),
        row("07", "fibrosis cohort: image size; scanned length",
            lambda e: f"{e.clinical.cohort.image_size} px; {_mm(e.clinical.cohort.z_length_mm)}"),
        row("07", "its ESRGANs (naive, proposed): chapter 05's settings, but", lambda e: _sr_changes(e.clinical.sr_changes)),
        row("07", "bootstrap resamples of the concordance", lambda e: e.clinical.bootstrap),
    ]


def markdown_table(efforts: Mapping[str, Effort] = EFFORTS) -> str:
    """The Markdown table of every knob (rows) of every profile (columns), as the Reproducing page shows it."""
    head = ["chapter", "knob", *efforts]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([c, k, *v]) + " |" for c, k, v in rows(efforts)]
    return "\n".join(lines) + "\n"
