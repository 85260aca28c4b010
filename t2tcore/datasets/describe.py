"""What a chapter's data are, in words: one phrase for captions (:func:`describe_data`), and how a data
set's own protocol differs from the chapter's (:func:`protocol_notes`)."""

from __future__ import annotations

import os
from pathlib import Path

from t2tcore.datasets.groups import DATASETS, RPLHR_KERNEL, dataset_spec

__all__ = ["describe_data", "protocol_notes"]


def protocol_notes(dataset: str) -> str:
    """Markdown: how a data set's own protocol differs from the chapter's, for the page beside Table III.

    Empty for ``ldct_gc`` (the paper's own data set). For ``rplhr_ct``: what the group is,
    the thicknesses, where the authors' pairing and metrics (their released code,
    ``smilenaxx/RPLHR-CT``) differ from ours, and why their published numbers are not in
    this table.
    """
    spec = dataset_spec(dataset)
    if dataset != "rplhr_ct":
        return ""
    from t2tcore.data import rplhr

    r = rplhr.RATIO
    cal = spec.calibration_patients
    return f"""**RPLHR-CT against our protocol.** RPLHR-CT (Yu et al., MICCAI 2022, LNCS 13436, pp. 344–353;
data: Zenodo record 17239183) gives each chest CT as a real 1 mm and a real 5 mm reconstruction, with no
kernel or dose label in the files, so this chapter has one group, `RPLHR-CT (one protocol)`. NIfTI
stores no slice thickness: 1 mm and 5 mm come from the folder names. We simulate 5 mm slices: the index-based methods
average groups of k = 5 thin slices; `proposed`, `gaussian_z` and `calibrated` are computed at the real
5 mm positions given by the affines. `calibrated` is fitted on up to {cal} other cases of the split (the
next ones in case order, wrapping around), never on the case it is tested on, so that only a few volumes
are held in memory at once.

* *Pairing.* The authors' loader pairs thick slice z with thin slices {r}z … {r}z+{r - 1} by index, never
  by position (`code/utils/in_model.py`); for super-resolution it takes the thin target of thick slices
  z_s … z_s+3 from thin slice {r}z_s+3 to {r}z_s+12, and the test code puts each predicted block from thin
  slice {r}z_s+3 on. Our **count** alignment pairs the slices as they do (groups of {r}, one per real thick slice) wherever
  a case has {r} times as many thin as thick slices; our **physical** alignment follows the affines. The
  list below says, case by case, whether both hold and whether the affines put each thick slice
  at the centre of its {r} thin slices.
* *Metrics.* Their PSNR (`cal_psnr`, `code/utils/non_model.py`) is 20·log10(1/√MSE) over the whole volume
  with a peak of 1: the code reads the voxel values as stored and clamps its predictions to [0, 1], so it
  assumes volumes already scaled to [0, 1] (how HU map to that scale is not in the code). They leave out
  five 1 mm slices at each end (`y[5:-5]`) and compute SSIM slice by slice with an 11 × 11 Gaussian
  window (σ = 1.5, constants for a data range of 1, zero-padded borders included), averaged over slices.
  Ours (`t2tcore.evaluation.metrics`): the `paper` convention min-max scales each volume to [−1, 1] on its
  own (PSNR with a data range of 2, SSIM with 7 × 7 uniform windows in every slice, borders left out); the
  `hu` convention keeps HU inside a body mask (range 2000 HU). We compare every real 5 mm slice inside the
  1 mm coverage, with no crop. Our numbers are therefore not on their scale.
* *Published numbers.* RPLHR-CT's published PSNR and SSIM (TVSRN and the CNN baselines) measure
  super-resolved 1 mm volumes against the real 1 mm ones: they belong to Table IV (chapter 05), not to this
  table, which compares simulated 5 mm volumes with the real 5 mm ones. We know of no published
  simulation-fidelity number on RPLHR-CT; the paper's numbers beside ours are its Table III on the 2016
  LDCT Grand Challenge (kernel {spec.paper_kernels[RPLHR_KERNEL]}, 1 mm → 3 mm, 10 patients): another data
  set, thickness and kernel, so only the ranking of the methods can be compared."""


def describe_data(data_root: str | os.PathLike, *, dataset: str = "ldct_gc", detail: bool = True,
                  plain: bool = False, split: str | None = None) -> str:
    """One Markdown phrase saying what data a chapter's numbers come from.

    Parameters
    ----------
    data_root : str or os.PathLike
        The data folder.
    dataset : str
        Its dataset name (for real data).
    detail : bool
        For a virtual cohort, add its image size and z length.
    plain : bool
        Plain text (no Markdown emphasis or code marks), e.g. for a table caption.
    split : str, optional
        ``rplhr_ct``: the split the chapter reads (default the test split).

    Returns
    -------
    str
        For a virtual cohort (a folder with ``cohort_manifest.json``): its profile, number of
        test patients, t2t version and source hash; for a virtual RPLHR-CT-shaped tree
        (:mod:`t2tcore.scanner.cohorts.rplhr`): what made it; for real data: the dataset,
        the split and number of case pairs (RPLHR-CT) and the folder.
    """
    from t2tcore.scanner.cohorts import MANIFEST_NAME, read_manifest

    if plain:
        text = describe_data(data_root, dataset=dataset, detail=detail, split=split)
        return text.replace("**", "").replace("`", "")
    root = Path(data_root)
    if dataset == "rplhr_ct":
        return _describe_rplhr(root, "test" if split is None else split, detail)
    if (root / MANIFEST_NAME).is_file():
        spec = read_manifest(root)["spec"]
        prof = spec["profile"]
        size = f"{prof['image_size']}² pixels, {prof['z_length_mm']} mm along z, " if detail else ""
        return (
            f"the **virtual cohort** of profile `{prof['name']}` (manifest `data_manifests/virtual_{prof['name']}.yaml`; "
            f"{prof['n_test']} test patients, {size}t2t {spec['t2t_version']}, source hash {spec['source_sha256']}) "
            f"in `{root.name}`"
        )
    title = DATASETS[dataset].title if dataset in DATASETS else dataset
    return f"**real data**: {title} folder `{root}`"


def _describe_rplhr(root: Path, split: str, detail: bool) -> str:
    from t2tcore.data import rplhr
    from t2tcore.scanner.cohorts.rplhr import read_marker

    base = rplhr.find_root(root)
    n = len(rplhr.pairs(base, split))
    info = read_marker(base)
    if info is not None:
        size = f"{info['image_size']}² pixels, {info['n_thin']} thin / {info['n_thick']} thick slices, " if detail else ""
        shift = (", thick slices of " + ", ".join(f"{c} shifted {o:+g} mm" for c, o in info["thick_offset_mm"].items())
                 if info.get("thick_offset_mm") else "")
        return (f"a **virtual RPLHR-CT-shaped tree** (not RPLHR-CT data: 1 mm and 5 mm reconstructions of the same "
                f"virtual scans, `t2tcore.scanner.cohorts.rplhr`; {split} split, {n} case pairs, {size}"
                f"seed {info['seed']}{shift}, t2t {info['t2t_version']}) in `{base.name}`")
    return (f"**real data**: {DATASETS['rplhr_ct'].title}, Zenodo record 17239183, {split} split ({n} case pairs), "
            f"folder `{base}`")
