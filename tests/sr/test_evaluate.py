import numpy as np
import pandas as pd
import pytest

from t2tcore.evaluation import compare
from t2tcore.sr import evaluate as ev
from t2tcore.sr.config import Scaling
from t2tcore.sr.models import build_model

from tests.sr.conftest import thick_of, thin_series


def test_paper_tables():
    t4 = ev.paper_table4()
    assert len(t4) == 2 * 4 * 2 * 4
    row = t4[(t4.kernel == "B30") & (t4.model == "esrgan") & (t4.method == "proposed") & (t4.metric == "psnr")]
    assert row["mean"].item() == 40.5083 and row["std"].item() == 3.8736 and not row["significant"].item()
    fid_vdsr = t4[(t4.model == "vdsr") & (t4.method == "average") & (t4.metric == "fid")]
    assert not fid_vdsr["significant"].any()  # the paper marks no † there
    t6 = ev.paper_table6().set_index("model")
    assert t6.loc["vdsr", "parameter_mb"] == 298 and t6.loc["esrgan", "rank"] == 1


def test_eval_region():
    thin = thin_series(n=40, size=32, seed=1)
    thick = thick_of(thin)
    full = ev.eval_region(thin, thick)
    inside = np.flatnonzero((thin.positions >= thick.positions.min()) & (thin.positions <= thick.positions.max()))
    assert (full.z.start, full.z.stop) == (inside[0], inside[-1] + 1) and full.y == slice(0, 32)
    r = ev.eval_region(thin, thick, n_slices=10, margin_px=2, halo=3)
    assert r.z.stop - r.z.start == 10 and r.z_in.start == r.z.start - 3 and r.z_in.stop == r.z.stop + 3
    body = thin.volume[r.z] > -500
    rows = np.flatnonzero(body.any(axis=(0, 2)))
    assert r.y == slice(max(0, rows[0] - 2), min(32, rows[-1] + 3))


@pytest.fixture(scope="module")
def case_rows():
    thin = thin_series(n=40, size=32, seed=2)
    thick = thick_of(thin)
    ident = build_model("vdsr", "small").eval()  # zero head: the identity
    models = [ev.LoadedModel("vdsr/proposed/s1", "vdsr", "proposed", ident, Scaling(), (64, 256, 256), 1)]
    region = ev.eval_region(thin, thick, n_slices=12, margin_px=2)
    rows, extra = ev.evaluate_case(thin, thick, models, region, fid_slices=3, keep=True)
    return thin, thick, region, rows, extra


def test_identity_model_scores_as_the_baseline_which_is_linear_interpolation(case_rows):
    thin, thick, region, rows, extra = case_rows
    df = pd.DataFrame(rows)
    assert set(df.convention) == {"paper", "window", "hu"}
    assert set(df.region) == {"all", "body", "lung", "soft_tissue", "bone", "edge"}
    for conv in ("paper", "window", "hu"):
        a = df[(df.label == "vdsr/proposed/s1") & (df.convention == conv) & (df.region == "all")].iloc[0]
        b = df[(df.label == ev.BASELINE) & (df.convention == conv) & (df.region == "all")].iloc[0]
        assert a.psnr == pytest.approx(b.psnr, abs=1e-3) and a.rmse == pytest.approx(b.rmse, rel=1e-4)
        assert (a.model, a.method, a.seed) == ("vdsr", "proposed", 1) and b.seed == 0
    # the baseline is the real thick series interpolated linearly along z (np.interp), scored against real thin
    pos = thin.positions[region.z]
    lin = np.empty((pos.size, *thin.volume.shape[1:]), np.float32)
    for y in range(lin.shape[1]):
        for x in range(lin.shape[2]):
            lin[:, y, x] = np.interp(pos, thick.positions, thick.volume[:, y, x])
    ref = thin.volume[region.z, region.y, region.x]
    test = lin[:, region.y, region.x]
    base = df[df.label == ev.BASELINE].set_index(["convention", "region"])
    for conv, reg in (("paper", "all"), ("window", "all"), ("hu", "body")):  # each convention's Table IV region
        want = compare(ref, test, convention=conv, ssim_modes=("2d",))
        got = base.loc[(conv, reg)]
        assert got.psnr == pytest.approx(want["psnr"], abs=1e-3) and got.rmse == pytest.approx(want["rmse"], rel=1e-4)
        assert got.n_voxels == want["n_voxels"]
    # SSIM: the slice-by-slice scikit-image value on the whole box; voxel-weighted inside a region
    assert base.loc[("paper", "all")].ssim_2d == pytest.approx(compare(ref, test, "paper", ssim_modes=("2d",))["ssim_2d"],
                                                               abs=1e-5)
    assert base.loc[("paper", "all")].n_slices == 12
    assert set(extra["volumes"]) == {"thin", "linear", "vdsr/proposed/s1"}
    np.testing.assert_allclose(extra["fid"]["reference"], ref[[0, 6, 11]])  # evenly spaced, HU
    r0 = df[df.label == "vdsr/proposed/s1"].iloc[0]
    assert r0.ref_max == ref.max() and r0.ref_min == ref.min() and r0.test_max == pytest.approx(test.max(), abs=1e-3)
    assert {"z_displacement_mm", "z_abs_displacement_mm", "z_edges"} <= set(df.columns)  # measured: tests/evaluation


def test_region_rows_are_the_region_errors(case_rows):
    thin, thick, region, rows, extra = case_rows
    from t2tcore.evaluation.regions import region_masks

    df = pd.DataFrame(rows)
    ref = thin.volume[region.z, region.y, region.x]
    lin = extra["volumes"]["linear"]
    masks = region_masks(ref, (0.8, 1.0, 1.0))
    hu = df[(df.label == ev.BASELINE) & (df.convention == "hu")].set_index("region")
    for reg in ("body", "bone", "soft_tissue", "edge"):
        m = masks[reg]
        assert hu.loc[reg, "n_voxels"] == m.sum() > 0
        assert hu.loc[reg, "rmse"] == pytest.approx(float(np.sqrt(np.mean((ref[m] - lin[m]).astype(float) ** 2))),
                                                    rel=1e-4)
    assert hu.loc["lung", "n_voxels"] == 0 and np.isnan(hu.loc["lung", "rmse"])  # no gas inside this body


def _synthetic(n=8, seeds=(0,)):
    rng = np.random.default_rng(0)
    rows = []
    for p in range(n):
        for dose in ("full", "quarter"):
            base = 30 + rng.normal()
            for label, model, method, gain in [("linear", "linear", "linear", 0.0), ("vdsr/proposed", "vdsr", "proposed", 1.0),
                                               ("vdsr/average", "vdsr", "average", 0.3), ("unet/proposed", "unet", "proposed", -0.5),
                                               ("unet/average", "unet", "average", -0.4)]:
                for s in (seeds if model != "linear" else (0,)):
                    lab = f"{label}/s{s}" if model != "linear" else label
                    rows.append({"patient": f"P{p}", "kernel": "B30", "dose": dose, "label": lab, "model": model,
                                 "method": method, "seed": s, "convention": "paper",
                                 "psnr": base + gain + 0.01 * rng.normal() + 0.01 * s,
                                 "rmse": 0.03 - 0.001 * gain, "ssim_2d": 0.9})
    return pd.DataFrame(rows)


def test_tables_and_verdicts_on_known_differences():
    df = _synthetic(seeds=(0, 1, 2))
    t = ev.table4(df, ["psnr", "rmse"])
    vdsr = t[(t.model == "vdsr") & (t.metric == "psnr")].set_index("method")
    assert list(vdsr.index) == ["proposed", "average", "linear"]  # the baseline is in every model's block
    assert vdsr.loc["average", "significant"] and vdsr.loc["linear", "significant"] and vdsr.loc["proposed", "best"]
    assert vdsr.loc["proposed", "n_seeds"] == 3 and vdsr.loc["proposed", "n"] == 16  # cases per seed
    # mean +- sd over the seeds' means (the seeds differ by 0.01 dB here)
    assert vdsr.loc["proposed", "std"] == pytest.approx(0.01, abs=0.004)
    v = ev.baseline_verdict(df).set_index(["model", "method"])
    assert v.loc[("vdsr", "proposed"), "better"] and v.loc[("unet", "proposed"), "worse"]
    assert v.loc[("vdsr", "proposed"), "mean_diff_psnr"] == pytest.approx(1.0, abs=0.03)
    assert v.loc[("vdsr", "proposed"), "n_patients"] == 8 and v.loc[("vdsr", "proposed"), "wins"] == 8
    vr = ev.baseline_verdict(df, metric="rmse").set_index(["model", "method"])
    assert vr.loc[("vdsr", "proposed"), "mean_diff_rmse"] == pytest.approx(-0.001) and vr.loc[("vdsr", "proposed"), "better"]
    nv = ev.naive_verdict(df).set_index("model")
    assert nv.loc["vdsr", "better"] and nv.loc["vdsr", "mean_diff_psnr"] == pytest.approx(0.7, abs=0.02)
    assert nv.loc["vdsr", "ci_low"] < 0.7 < nv.loc["vdsr", "ci_high"]
    ex = ev.extremes(df.assign(ref_min=-1000.0, ref_max=800.0, test_min=-1000.0,
                               test_max=800.0 + 10.0 * (df.method == "proposed"))).set_index("label")
    assert ex.loc["vdsr/proposed/s0", "max_over"] == 10.0 and ex.loc["linear", "max_over"] == 0.0
    assert ex.loc["linear", "n"] == 16
    rank = ev.performance_rank(df).set_index("model")
    assert rank.loc["vdsr", "rank"] == 1 and rank.loc["unet", "rank"] == 2
    side = ev.beside_paper(df)
    assert side.loc[("B30", "vdsr", "proposed", "psnr"), "paper"] == "38.5657 ± 4.6613"
    assert side.loc[("B30", "vdsr", "average", "psnr"), "paper"].endswith("†")
    assert side.loc[("B30", "vdsr", "proposed", "psnr"), "ours"].count("±") == 1


def test_single_seed_labels_without_a_seed_are_seed_0():
    df = _synthetic().drop(columns="seed")
    df["label"] = df["label"].str.replace("/s0", "", regex=False)
    t = ev.table4(df, ["psnr"])
    row = t[(t.model == "vdsr") & (t.method == "proposed")].iloc[0]
    assert row.n_seeds == 1 and np.isnan(row["std"])
    nv = ev.naive_verdict(df).set_index("model")
    assert "1 seed" in nv.loc["vdsr", "reason"]


@pytest.mark.slow
def test_fid_rows_pool_cases_and_rank_a_copy_first():
    rng = np.random.default_rng(3)
    sets = []
    for _ in range(2):
        ref = (800 * np.tanh(rng.normal(size=(3, 48, 48)))).astype(np.float32)  # HU
        sets.append({"reference": ref, "same": ref.copy(),
                     "noisy": (ref + rng.normal(0, 300, ref.shape)).astype(np.float32)})
    rows = {r["label"]: r for r in ev.fid_rows(sets, min_fid_slices=2)}
    assert set(rows) == {"same", "noisy"} and rows["same"]["n_slices"] == 6 and rows["same"]["n_cases"] == 2
    assert abs(rows["same"]["fid"]) < 1e-3 < rows["noisy"]["fid"]
    assert rows["same"]["kid"] < rows["noisy"]["kid"]
    few = {r["label"]: r for r in ev.fid_rows(sets)}  # 6 slices per set: no FID, KID only
    assert np.isnan(few["noisy"]["fid"]) and "fewer than" in few["noisy"]["note"] and np.isfinite(few["noisy"]["kid"])
