"""Tests of t2tcore.studies.table3 (with table3_report and fig4): the Table III driver against the lower-level functions,
the paper-shaped tables against hand-made statistics, and the Fig. 4 data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from t2tcore.datasets import StudyGroup, pairing
from t2tcore.evaluation import fidelity, stats
from t2tcore.studies import fig4, table3
from t2tcore.studies import table3_report as report
from t2tcore.io import Series
from t2tcore.simulation import fit_slice_profile as fit_profile


def _object(z, ny=20, nx=20, shift=0.0):
    """A smooth object sampled at planes z: a body whose value changes along z and a tilted rod."""
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    out = np.empty((len(z), ny, nx), np.float32)
    for i, zi in enumerate(z):
        body = np.where((x - 10) ** 2 + (y - 10) ** 2 < 64, 40.0 + 30 * np.sin((zi + shift) / 2.3), -1000.0)
        out[i] = body + 300.0 * (((x - 6 - 0.4 * zi) ** 2 + (y - 10) ** 2) < 5)
    return out


def _pair(shift, rng, thick_thickness=3.0):
    thin_z = np.arange(0.0, 24.0, 0.8)
    thick_z = np.arange(0.0, 24.0, 2.0)
    thin = _object(thin_z, shift=shift) + rng.normal(0, 5, (thin_z.size, 20, 20)).astype(np.float32)
    # the "real" thick slices: a 3-point average of the object around each position
    thick = np.mean([_object(thick_z + d, shift=shift) for d in (-1.0, 0.0, 1.0)], axis=0).astype(np.float32)
    return (Series.from_array(thin, thin_z, (0.7, 0.7), 1.0),
            Series.from_array(thick, thick_z, (0.7, 0.7), thick_thickness))


def _groups(n_patients=3, kernels=("B30",), doses=("full",)):
    out = []
    for k in kernels:
        for d in doses:
            rng = np.random.default_rng(len(out))
            entries = [(f"P{i}", *_pair(0.7 * i, rng)) for i in range(n_patients)]
            out.append(StudyGroup(k, d, [(p, a, b) for p, a, b in entries]))
    return out


def test_run_table3_rows_equal_the_lower_level_functions_with_leave_one_out():
    groups = _groups(3)
    methods = ["proposed", "average", "calibrated"]
    res = table3.run_table3(groups, methods, ssim_modes=("2d",), fid=False)
    # the same rows, made by hand: leave-one-out profile, simulate, align, evaluate
    series = groups[0].load()
    want = []
    for p, (thin, thick) in series.items():
        others = [(t.volume, t.positions, T.volume, T.positions) for q, (t, T) in series.items() if q != p]
        prof = fit_profile(others, thickness=3.0, interval=2.0)
        sims = fidelity.simulate_methods(thin, thick, methods, thickness=3.0, profile=prof, sigma=1.0)
        for r in fidelity.evaluate_pairs(fidelity.aligned_pairs(thin, thick, sims), ("paper", "hu"), ssim_modes=("2d",)):
            want.append({"kernel": "B30", "dose": "full", "patient": p, **r})
    pd.testing.assert_frame_equal(res.per_patient, pd.DataFrame(want))
    assert res.metrics == ["psnr", "rmse", "ssim_2d"]
    assert res.fid is None and res.notes == []
    assert list(res.calibration["held_out"]) == ["P0", "P1", "P2"] and set(res.calibration["fitted_on"]) == {2}
    assert res.fig4["patient"] == "P0" and res.fig4["pixel_mm"] == pytest.approx(0.7)
    assert {p.alignment for p in res.fig4["pairs"]} == {"count", "physical"}


def test_run_table3_notes_and_one_patient_groups_without_calibration():
    rng = np.random.default_rng(3)
    thin, thick = _pair(0.0, rng, thick_thickness=5.0)
    g = StudyGroup("D45", "quarter", [("P9", thin, thick)], ["D45 quarter: V002 has no 3mm series"])
    res = table3.run_table3([g], ["proposed", "calibrated"], fid=False, fig_patient="P9")
    assert set(res.per_patient["method"]) == {"proposed"}  # no calibrated rows with one patient
    assert res.notes[0] == "D45 quarter: V002 has no 3mm series"
    assert any("SliceThickness 5 mm, simulated 3 mm" in n for n in res.notes)
    assert any("one patient only" in n for n in res.notes)
    assert res.calibration.empty and list(res.calibration.columns)[:3] == ["kernel", "dose", "held_out"]


def test_run_table3_pools_fid_slices_over_patients_of_the_first_group(monkeypatch):
    seen = []

    def fake_fid_rows(sets, *, convention, device=None, progress=False):
        seen.append((convention, sets))
        return [{"method": m, "convention": convention, "fid": float(i), "n_slices": 0, "n_patients": len(sets)}
                for i, m in enumerate(k for k in sets[0] if k != "reference")]

    monkeypatch.setattr(fidelity, "fid_rows", fake_fid_rows)
    groups = _groups(3, kernels=("B30", "D45"))
    res = table3.run_table3(groups, ["proposed", "average"], fid=True, fid_max_slices=7, fid_convention="hu")
    assert len(seen) == 1  # the first group only
    convention, sets = seen[0]
    assert convention == "hu" and len(sets) == 3
    # ceil(7 / 3) = 3 slices per patient, the same for the reference and every method
    assert all(s["reference"].shape[0] == 3 and s["average"].shape == s["reference"].shape for s in sets)
    assert list(res.fid["kernel"]) == ["B30", "B30"] and list(res.fid["method"]) == ["proposed", "average"]
    seen.clear()
    res = table3.run_table3(_groups(2, kernels=("B30", "D45")), ["proposed"], fid=True, fid_all_groups=True,
                            fid_max_slices=1)
    assert len(seen) == 2 and all(s["reference"].shape[0] == 2 for s in seen[0][1])  # at least 2 per patient


def _stats(values):
    """summary_stats-shaped rows: {(alignment, method, metric): (mean, std, significant, best)}."""
    rows = []
    for (a, m, metric), (mean, std, sig, best) in values.items():
        rows.append({"kernel": "B30", "dose": "full", "alignment": a, "method": m, "metric": metric, "mean": mean,
                     "std": std, "n": 3, "p": 0.01 if sig else math.nan, "n_pairs": 3, "significant": sig,
                     "best": best, "note": ""})
    return pd.DataFrame(rows)


def test_compact_table_sets_ours_beside_the_papers_numbers():
    v = {}
    for a in ("count", "physical"):
        v[(a, "proposed", "psnr")] = (50.0, 1.0, False, True)
        v[(a, "average", "psnr")] = (45.0, 0.5, True, False)
        v[(a, "proposed", "rmse")] = (0.006, 0.001, False, False)
        v[(a, "average", "rmse")] = (0.005, 0.0005, False, True)
        v[(a, "proposed", "ssim_2d")] = (0.99, 0.01, False, True)
        v[(a, "average", "ssim_2d")] = (0.98, 0.01, True, False)
    fid = pd.DataFrame({"kernel": ["B30", "B30"], "dose": ["full", "full"], "method": ["proposed", "average"],
                        "fid": [6.1, 6.4]})
    cells, bold = report.compact_table(_stats(v), "B30", "full", fid=fid)
    assert list(cells.columns) == ["PSNR", "RMSE", "SSIM", "FID"]
    # the paper's rows first in the paper's method order, then ours per alignment
    assert list(cells.index) == [("average", "paper"), ("average", "count"), ("average", "physical"),
                                 ("proposed", "paper"), ("proposed", "count"), ("proposed", "physical")]
    assert cells.loc[("average", "paper"), "PSNR"] == "42.0079 ± 2.8809†"  # the paper's B30 value
    assert cells.loc[("proposed", "paper"), "FID"] == "0.0020 ± 0.0018"
    assert cells.loc[("average", "count"), "PSNR"] == "45.0000 ± 0.5000†"
    assert cells.loc[("proposed", "count"), "FID"] == "6.1000"
    assert cells.loc[("proposed", "physical"), "FID"] == "—"  # FID only in the count alignment
    assert bold.loc[("proposed", "paper")].all() and not bold.loc[("average", "paper")].any()
    assert bold.loc[("average", "count"), "RMSE"] and not bold.loc[("proposed", "count"), "RMSE"]
    assert bold.loc[("proposed", "count"), "FID"] and not bold.loc[("average", "count"), "FID"]
    with pytest.raises(ValueError, match="no statistics"):
        report.compact_table(_stats(v), "D45", "full")


def test_ranking_vs_paper_and_its_sentences():
    v = {}
    for a in ("count", "physical"):
        for m, psnr, rmse in (("proposed", 50.0, 0.006), ("average", 45.0, 0.005), ("direct", 40.0, 0.02)):
            v[(a, m, "psnr")] = (psnr, 1.0, False, m == "proposed")
            v[(a, m, "rmse")] = (rmse, 0.001, m == "direct", m == "average")
            v[(a, m, "ssim_2d")] = (0.9, 0.01, False, False)
    rank = report.ranking_vs_paper(_stats(v), ["B30"], ["full"])
    r = rank.set_index(["alignment", "metric"])
    assert len(rank) == 6 and r.loc[("count", "psnr"), "ours best"] == "proposed"
    assert r.loc[("count", "psnr"), "margin (ours)"] == pytest.approx(5.0)
    assert r.loc[("count", "rmse"), "ours best"] == "average"
    assert r.loc[("count", "rmse"), "margin (ours)"] == pytest.approx(-0.001)  # proposed worse by 0.001
    paper = stats.paper_table3().query("kernel == 'B30' and metric == 'psnr'").set_index("method")["mean"]
    assert r.loc[("count", "psnr"), "margin (paper)"] == pytest.approx(paper["proposed"] - paper["average"])
    text = report.ranking_text(rank)
    assert "`proposed` is first on 1 of 3" in text and "the paper's best is `proposed`, ours is `average`" in text
    assert "+5.00 to +5.00 dB in ours" in text
    opening = report.findings(rank, 3)
    assert "in 1 of 3 kernel × dose × metric cells (paper: 3 of 3)" in opening
    assert "smallest attainable p is 0.25, so no † is possible." in opening


def test_misplacement_and_fig4_panels_from_aligned_pairs():
    rng = np.random.default_rng(5)
    thin, thick = _pair(0.0, rng)
    sims = fidelity.simulate_methods(thin, thick, ["proposed", "average"], thickness=3.0)
    pairs = fidelity.aligned_pairs(thin, thick, sims)
    off = fig4.misplacement(pairs)
    cnt = {p.method: p for p in pairs if p.alignment == "count"}
    want = fidelity.count_positions(cnt["average"].sim_positions, cnt["average"].ref_index.size) - cnt["average"].ref_positions
    np.testing.assert_allclose(off["average"][1], want)
    np.testing.assert_array_equal(off["proposed"][1], 0.0)
    panels = fig4.fig4_panels(pairs)
    phy = {p.method: p for p in pairs if p.alignment == "physical"}
    j = int(phy["proposed"].ref_index[len(phy["proposed"].ref_index) // 4])
    assert panels["index"] == j and panels["z"] == pytest.approx(thick.positions[j])
    np.testing.assert_array_equal(panels["real"], thick.volume[j])
    k = list(phy["average"].ref_index).index(j)
    np.testing.assert_array_equal(panels["error"][("average", "physical")], phy["average"].test[k] - thick.volume[j])
    errs = list(panels["error"].values())
    want_lim = max(20.0, float(np.ceil(np.median([np.percentile(np.abs(e), 99) for e in errs]) / 10) * 10))
    assert panels["limit"] == want_lim
    with pytest.raises(ValueError, match="not among the compared slices"):
        fig4.fig4_panels(pairs, fig_slice=10_000)


# --------------------------------------------------------------------------- memory, windows, other data sets


def test_run_table3_reads_one_patient_at_a_time_without_calibrated(monkeypatch):
    events = []
    series = _groups(3)[0].load()

    def read(src):
        events.append(f"read {src}")
        return series[src[:-1]][0 if src[-1] == "a" else 1]

    real = fidelity.simulate_methods

    def simulate(thin, *args, **kw):
        events.append("simulate")
        return real(thin, *args, **kw)

    monkeypatch.setattr(fidelity, "simulate_methods", simulate)
    g = StudyGroup("B30", "full", [(p, p + "a", p + "b") for p in series], read=read)
    res = table3.run_table3([g], ["proposed", "average"], fid=False)
    # each pair is read when its turn comes, never before: one patient's series in memory
    assert events == ["read P0a", "read P0b", "simulate", "read P1a", "read P1b", "simulate",
                      "read P2a", "read P2b", "simulate"]
    want = table3.run_table3(_groups(3), ["proposed", "average"], fid=False).per_patient
    pd.testing.assert_frame_equal(res.per_patient, want)


def test_run_table3_calibrates_on_a_window_of_the_next_patients():
    groups = _groups(4)
    series = groups[0].load()
    names = list(series)
    res = table3.run_table3(groups, ["proposed", "calibrated"], fid=False, calibration_patients=2)
    assert list(res.calibration["fitted_on"]) == [2, 2, 2, 2]
    rows = res.per_patient[(res.per_patient["method"] == "calibrated") & (res.per_patient["convention"] == "paper")
                           & (res.per_patient["alignment"] == "physical")]
    for i, p in enumerate(names):
        others = sorted([(i + 1) % 4, (i + 2) % 4])  # P0: P1, P2; ... P3: P0, P1 (wrapping around)
        prof = fit_profile([(series[names[j]][0].volume, series[names[j]][0].positions, series[names[j]][1].volume,
                             series[names[j]][1].positions) for j in others], thickness=3.0, interval=2.0)
        thin, thick = series[p]
        sims = fidelity.simulate_methods(thin, thick, ["calibrated"], thickness=3.0, profile=prof)
        (want,) = [r for r in fidelity.evaluate_pairs(fidelity.aligned_pairs(thin, thick, sims, ["physical"]),
                                                      ("paper",))]
        assert rows[rows["patient"] == p]["psnr"].iloc[0] == pytest.approx(want["psnr"], rel=1e-12)
    # a window as large as the group is leave-one-out
    loo = table3.run_table3(_groups(3), ["calibrated"], fid=False)
    big = table3.run_table3(_groups(3), ["calibrated"], fid=False, calibration_patients=10)
    pd.testing.assert_frame_equal(loo.per_patient, big.per_patient)
    pd.testing.assert_frame_equal(loo.calibration, big.calibration)
    with pytest.raises(ValueError, match="calibration_patients"):
        table3.run_table3(_groups(2), ["calibrated"], fid=False, calibration_patients=0)


def test_run_table3_skips_fid_with_fewer_than_two_slices_and_records_geometry():
    rng = np.random.default_rng(0)
    thin = Series.from_array(rng.normal(0, 100, (5, 8, 8)).astype(np.float32) - 500, np.arange(5.0), (0.7, 0.7), 1.0)
    thick = Series.from_array(np.arange(64, dtype=np.float32).reshape(1, 8, 8), [2.0], (0.7, 0.7), 5.0)
    res = table3.run_table3([StudyGroup("X", "y", [("P", thin, thick), ("Q", thin, thick)], ratio=5)],
                            ["proposed", "average", "calibrated"], thickness=5.0, interval=5.0, fid=False)
    # too short for a calibrated profile: a note, no calibrated rows, no crash
    assert "X y P: no calibrated profile (every thick series has one slice: give radius_mm)" in res.notes
    # 0..63 cannot be HU: said once per patient
    assert sum("not HU: the hu convention's numbers" in n for n in res.notes) == 2
    assert "calibrated" not in set(res.per_patient["method"]) and res.calibration.empty
    res = table3.run_table3([StudyGroup("X", "y", [("P", thin, thick)], ratio=5)], ["proposed", "average"],
                            thickness=5.0, interval=5.0, fid=True)
    assert res.fid is None and "X y: fewer than 2 real thick slices in all, no FID" in res.notes
    g = res.geometry.iloc[0]
    assert (g["kernel"], g["patient"], g["n_thin"], g["n_thick"], g["ratio"]) == ("X", "P", 5, 1, 5)
    assert g["index_agrees"] and g["count_is_index"]


def test_paper_kernels_set_the_papers_rows_beside_another_data_sets_kernel():
    v = {}
    for a in ("count", "physical"):
        for m, psnr in (("proposed", 50.0), ("average", 45.0), ("direct", 40.0)):
            v[(a, m, "psnr")] = (psnr, 1.0, False, m == "proposed")
            v[(a, m, "rmse")] = (0.01, 0.001, False, False)
            v[(a, m, "ssim_2d")] = (0.9, 0.01, False, False)
    summ = _stats(v).assign(kernel="RPLHR-CT", dose="one protocol")
    assert report.compact_table(summ, "RPLHR-CT", "one protocol")[0].index.get_level_values("source").tolist() == [
        "count", "physical"] * 3  # no paper kernel: ours only
    cells, bold = report.compact_table(summ, "RPLHR-CT", "one protocol", paper_kernel="B30")
    assert cells.loc[("average", "paper (B30)"), "PSNR"] == "42.0079 ± 2.8809†"
    assert bold.loc[("proposed", "paper (B30)")].all()
    pk = {"RPLHR-CT": "B30"}
    assert report.ranking_vs_paper(summ, ["RPLHR-CT"], ["one protocol"]).empty
    rank = report.ranking_vs_paper(summ, ["RPLHR-CT"], ["one protocol"], paper_kernels=pk)
    assert len(rank) == 6 and set(rank["paper kernel"]) == {"B30"} and set(rank["kernel"]) == {"RPLHR-CT"}
    paper = stats.paper_table3().query("kernel == 'B30' and metric == 'psnr'").set_index("method")["mean"]
    psnr = rank[(rank["metric"] == "psnr") & (rank["alignment"] == "count")].iloc[0]
    assert psnr["margin (paper)"] == pytest.approx(paper["proposed"] - paper["average"])
    side = report.beside_paper(summ, ["RPLHR-CT"], ["one protocol"], ["proposed"], paper_kernels=pk)
    assert side.loc[("RPLHR-CT", "psnr", "average"), "paper"] == "42.0079 ± 2.8809"
    assert side.loc[("RPLHR-CT", "psnr", "average"), "paper kernel"] == "B30"
    assert "paper kernel" not in report.beside_paper(_stats(v), ["B30"], ["full"], ["proposed"]).columns
    fid = pd.DataFrame({"kernel": ["RPLHR-CT"] * 2, "dose": ["one protocol"] * 2, "method": ["proposed", "average"],
                        "fid": [3.0, 2.0], "n_slices": [20, 20], "n_patients": [2, 2]})
    assert "in the paper (B30): `proposed`" in report.fid_text(fid, paper_kernels=pk)
    assert report.paper_source() == "paper: 10 patients"
    assert report.paper_source(pk).startswith("paper (B30): its Table III, 10 patients of the 2016 LDCT Grand Challenge")


def test_the_table3_driver_on_a_tiny_rplhr_tree(rplhr_tree):
    from t2tcore.datasets import dataset_spec, iter_groups

    kernels, doses, thickness, interval, _, _ = dataset_spec("rplhr_ct").resolve()
    methods = ["proposed", "direct", "average", "gaussian", "gaussian_z", "calibrated"]
    res = table3.run_table3(iter_groups(rplhr_tree, kernels, doses, dataset="rplhr_ct"), methods,
                            thickness=thickness, interval=interval, fid=False, calibration_patients=1)
    df = res.per_patient
    assert set(df["patient"]) == {"case000", "case001", "case002"} and set(df["method"]) == set(methods)
    assert res.notes == [] and list(res.calibration["fitted_on"]) == [1, 1, 1]
    geo = res.geometry.set_index("patient")
    assert geo["ratio_holds"].all() and geo["count_is_index"].all() and geo["hu_like"].all()
    assert geo.loc["case002", "offset_mean_mm"] == pytest.approx(-2.0, abs=1e-4)
    assert geo["index_agrees"].tolist() == [True, True, False]
    metric_cols = ["psnr", "rmse", "ssim_2d", "n_slices"]
    for p in ("case000", "case001"):  # where the affines agree with 5z..5z+4 both alignments are the same
        d = df[df["patient"] == p].set_index(["method", "convention", "alignment"])[metric_cols]
        c = d.xs("count", level="alignment")
        pd.testing.assert_frame_equal(c, d.xs("physical", level="alignment"))
        assert (c["n_slices"] == 7).all()
    # case002: the thick slices sit 2 mm below their groups' centres; the first one lies outside the index-based
    # stacks' coverage, so the physical alignment compares six slices and the count alignment (the loader's) seven
    d = df[(df["patient"] == "case002") & (df["convention"] == "paper")].set_index(["method", "alignment"])
    assert (d.xs("physical", level="alignment")["n_slices"] == 6).all()
    assert (d.xs("count", level="alignment")["n_slices"] == 7).all()
    text = pairing.pairing_text(res.geometry)
    assert "In 2 of 3 cases the positions agree" in text and "case002 (-2.00 mm for every slice)" in text
    summ = table3.summary(df, res.metrics)
    cells, _ = report.compact_table(summ, "RPLHR-CT", "one protocol", paper_kernel="B30")
    assert len(cells) == 4 + 6 * 2 and not (cells == "").any().any()


def test_effort_follows_the_profile_unless_given():
    assert table3.effort("smoke") == (12, False, ["2d"])
    assert table3.effort("quick") == (48, False, ["2d"])
    assert table3.effort("paper") == (None, True, ["2d", "3d"])
    assert table3.effort("quick", 5, True, ("3d",)) == (5, True, ["3d"])


def test_csv_tables_names_every_table_of_the_chapter():
    res = table3.Table3Result(per_patient=pd.DataFrame({"a": [1]}), fid=None, calibration=pd.DataFrame())
    full, summ, side, rank = (pd.DataFrame({"x": [i]}) for i in range(4))
    out = table3.csv_tables(res, full, summ, side, rank, "hu")
    assert out["every patient"][0] is res.per_patient
    assert out["Table III, every group"] == (full, "table3_hu", True)
    assert out["beside the paper"][1:] == ("table3_beside_paper_hu", True)
    assert out["rankings"][0] is rank and out["with p-values"][0] is summ
    assert out["FID"] == (None, "fid_hu", False) and out["calibrated profiles"][0] is res.calibration


def test_run_is_the_chapter_on_a_data_folder(rplhr_tree):
    """run() resolves the data set's defaults and the profile's effort, measures, and makes the tables and words
    the chapter shows, on a tiny RPLHR-CT tree."""
    res = table3.run(table3.Settings(data_root=rplhr_tree, dataset="rplhr_ct", profile="smoke", fid=False,
                                     methods=["proposed", "average", "direct", "gaussian"]))
    assert (res.kernels, res.doses, res.thickness, res.interval) == (["RPLHR-CT"], ["one protocol"], 5.0, 5.0)
    assert res.paper_kernels == {"RPLHR-CT": "B30"} and res.ssim_modes == ["2d"] and res.n_min == 3
    assert res.measured.per_patient.patient.nunique() == 3 and res.measured.fid is None
    pd.testing.assert_frame_equal(res.summary, table3.summary(res.measured.per_patient, res.measured.metrics))
    assert set(res.csv) >= {"every patient", "rankings"} and res.csv["FID"][0] is None
    assert "virtual RPLHR-CT-shaped tree" in res.data and res.text.startswith(f"From {res.data}")
    assert res.about[0] and "case002" in res.about[1]  # the protocol, and the case whose affines disagree
    assert set(res.fig4) == {"who", "pixel_mm", "offsets", "panels", "series"}
