"""The paper's numbers, in one place: every number of the paper the book shows beside its own.

Tang, Xing, Yang, "Enhancing Super-Resolution Network Efficacy in CT Imaging: Cost-Effective
Simulation of Training Data". Each constant below says where in the paper it comes from
(:data:`WHERE` lists them all, the Discussion page and the tests read it). Everything else in
the package and the book reads these constants: ``tests/test_paper.py`` fails when one of these
numbers appears as a literal anywhere else (a copy would drift from the paper unnoticed).

Numbers are as printed (mean, standard deviation over the test patients). The paper's metric
convention: each volume min-max scaled to [-1, 1] on its own (PSNR in dB with peak 2, RMSE on
that scale); its FID scale is not explained (values 0.002-0.7, far below standard FID values).
The presentation of these numbers (DataFrames, labels, styling) lives with the code that shows
them: :func:`t2tcore.evaluation.stats.paper_table3`, :func:`t2tcore.sr.evaluate.paper_table4`,
:func:`t2tcore.sr.evaluate.paper_table6`, :func:`t2tcore.clinical.survival.paper_table5`.
"""

from __future__ import annotations

__all__ = ["WHERE", "TABLE3", "TABLE3_LABELS", "TABLE4", "TABLE4_NO_DAGGER", "TABLE5", "TABLE5_FEATURES", "TABLE6",
           "CONCORDANCE", "CLINICAL_COHORT", "L286", "FIG7"]

#: Table III: simulated vs real thick slices (2016 Low Dose CT Grand Challenge, 1 mm -> 3 mm):
#: kernel -> method -> metric -> (mean, std). Every cell but the proposed method's carries †
#: (p < 0.05 against the proposed method).
TABLE3: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "D45": {
        "average": {"psnr": (40.6623, 3.1264), "rmse": (0.0198, 0.0073), "ssim": (0.9650, 0.0180), "fid": (0.0097, 0.0021)},
        "gaussian": {"psnr": (30.0160, 5.8123), "rmse": (0.0800, 0.0590), "ssim": (0.8870, 0.0312), "fid": (0.1239, 0.0162)},
        "direct": {"psnr": (36.0757, 2.9024), "rmse": (0.0334, 0.0131), "ssim": (0.9489, 0.0204), "fid": (0.0243, 0.0050)},
        "proposed": {"psnr": (49.7369, 2.5223), "rmse": (0.0068, 0.0020), "ssim": (0.9793, 0.0133), "fid": (0.0074, 0.0034)},
    },
    "B30": {
        "average": {"psnr": (42.0079, 2.8809), "rmse": (0.0168, 0.0058), "ssim": (0.9878, 0.0081), "fid": (0.0049, 0.0015)},
        "gaussian": {"psnr": (33.4766, 5.9684), "rmse": (0.0553, 0.0464), "ssim": (0.9360, 0.0243), "fid": (0.0660, 0.0090)},
        "direct": {"psnr": (36.2342, 3.3025), "rmse": (0.0334, 0.0150), "ssim": (0.9711, 0.0119), "fid": (0.0164, 0.0018)},
        "proposed": {"psnr": (48.5801, 7.3271), "rmse": (0.0108, 0.0099), "ssim": (0.9945, 0.0059), "fid": (0.0020, 0.0018)},
    },
}
#: Table III: the paper's names of the methods.
TABLE3_LABELS = {"average": "Simple Averaging", "gaussian": "Gaussian Averaging", "direct": "Direct Downsampling",
                 "proposed": "Proposed"}

#: Table IV: SR models trained on simulated pairs, tested on real thick slices:
#: kernel -> model -> method of the training pairs -> metric -> (mean, std). Every "average"
#: (Simple Averaging) cell carries † except those in :data:`TABLE4_NO_DAGGER`.
TABLE4: dict[str, dict[str, dict[str, dict[str, tuple[float, float]]]]] = {
    "D45": {
        "vdsr": {"average": {"psnr": (36.4722, 2.9112), "rmse": (0.0320, 0.0131), "ssim": (0.7617, 0.0649), "fid": (0.6344, 0.1071)},
                 "proposed": {"psnr": (37.2176, 3.0876), "rmse": (0.0296, 0.0128), "ssim": (0.8140, 0.0640), "fid": (0.6407, 0.0977)}},
        "unet": {"average": {"psnr": (36.5079, 2.9129), "rmse": (0.0319, 0.0133), "ssim": (0.7683, 0.0642), "fid": (0.6655, 0.1140)},
                 "proposed": {"psnr": (37.9405, 2.1842), "rmse": (0.0262, 0.0071), "ssim": (0.8127, 0.0606), "fid": (0.7072, 0.1755)}},
        "esrresnet": {"average": {"psnr": (36.6322, 2.7383), "rmse": (0.0312, 0.0120), "ssim": (0.7859, 0.0650), "fid": (0.6407, 0.0659)},
                      "proposed": {"psnr": (37.8946, 2.5350), "rmse": (0.0267, 0.0094), "ssim": (0.8312, 0.0504), "fid": (0.5556, 0.0701)}},
        "esrgan": {"average": {"psnr": (36.8371, 2.4522), "rmse": (0.0301, 0.0098), "ssim": (0.7831, 0.0598), "fid": (0.6535, 0.1118)},
                   "proposed": {"psnr": (37.9786, 2.4597), "rmse": (0.0264, 0.0089), "ssim": (0.8271, 0.0477), "fid": (0.5563, 0.0876)}},
    },
    "B30": {
        "vdsr": {"average": {"psnr": (37.2458, 4.6983), "rmse": (0.0323, 0.0209), "ssim": (0.8630, 0.0404), "fid": (0.3894, 0.0281)},
                 "proposed": {"psnr": (38.5657, 4.6613), "rmse": (0.0280, 0.0196), "ssim": (0.9060, 0.0315), "fid": (0.3919, 0.0201)}},
        "unet": {"average": {"psnr": (37.4172, 4.4380), "rmse": (0.0311, 0.0185), "ssim": (0.8529, 0.0423), "fid": (0.3924, 0.0261)},
                 "proposed": {"psnr": (39.7475, 3.5318), "rmse": (0.0226, 0.0112), "ssim": (0.9073, 0.0292), "fid": (0.4238, 0.0767)}},
        "esrresnet": {"average": {"psnr": (37.9217, 4.1180), "rmse": (0.0289, 0.0171), "ssim": (0.8788, 0.0379), "fid": (0.3258, 0.0374)},
                      "proposed": {"psnr": (40.2103, 3.9283), "rmse": (0.0223, 0.0150), "ssim": (0.9182, 0.0264), "fid": (0.2608, 0.0220)}},
        "esrgan": {"average": {"psnr": (38.2401, 3.6225), "rmse": (0.0270, 0.0136), "ssim": (0.8629, 0.0391), "fid": (0.3086, 0.0446)},
                   "proposed": {"psnr": (40.5083, 3.8736), "rmse": (0.0215, 0.0144), "ssim": (0.9199, 0.0278), "fid": (0.2331, 0.0187)}},
    },
}
#: Table IV: the (model, metric) cells whose "average" row carries no †.
TABLE4_NO_DAGGER = frozenset({("vdsr", "fid"), ("unet", "fid")})

#: Table V: the five airway radiomics features of the multivariate Cox models (our names).
TABLE5_FEATURES = ("Elongation", "Maximum2DDiameterColumn", "Maximum2DDiameterSlice", "MeshVolume", "10Percentile")
#: Table V: multivariate Cox regression of mortality on airway radiomics, per image source (36 IPF
#: patients): input -> one (exp(coef), upper 95 % of exp(coef), p as printed) per feature of
#: :data:`TABLE5_FEATURES`. "SR naive": ESRGAN trained on simple-averaging pairs; "SR proposed": on
#: the paper's pairs.
TABLE5: dict[str, tuple[tuple[float, float, str], ...]] = {
    "thick": ((0, 22.15, "0.2"), (1.01, 1.03, "0.67"), (1.01, 1.04, "0.56"), (1, 1, "0.82"), (1.22, 1.65, "0.2")),
    "SR naive": ((0, 3.57e6, "0.38"), (1.04, 1.15, "0.36"), (0.94, 1, "0.04"), (1, 1, "0.82"), (0.76, 0.93, "0.01")),
    "SR proposed": ((4.05, 2.52e11, "0.91"), (0.89, 0.98, "0.02"), (1.19, 1.31, "< 0.005"), (1, 1, "0.77"),
                    (1.14, 1.24, "< 0.005")),
}
#: Table V (text below it): the one concordance index the paper reports (SR proposed).
CONCORDANCE = 0.85

#: Table VI: model -> (inference time in s per image on an NVIDIA RTX 6000, parameter size in MB,
#: rank by mean PSNR).
TABLE6: dict[str, tuple[int, int, int]] = {"vdsr": (9, 298, 4), "unet": (6, 4, 3), "esrresnet": (8, 40, 2),
                                           "esrgan": (8, 83, 1)}

#: Section VI-D: the clinical cohort of Table V (Australian IPF Registry). Thickness and age as
#: (mean, SD).
CLINICAL_COHORT = {"patients": 36, "thickness_mm": (2.27, 0.44), "age": (72.09, 9.11),
                   "source": "Australian IPF Registry (AIPFR)"}

#: Section II-B, Fig. 2a: patient L286 of the 2016 Low Dose CT Grand Challenge: ``n_thin`` thin
#: slices of ``thin_thickness`` mm every ``thin_interval`` mm; the scanner's ``thickness`` mm series
#: every ``interval`` mm has ``n_real`` slices, index-based simulation makes ``n_index``.
L286 = {"n_thin": 525, "thin_thickness": 1.0, "thin_interval": 0.8, "thickness": 3.0, "interval": 2.0,
        "n_real": 210, "n_index": 175}

#: Section VI-C, Fig. 7: the thin slice (1-based) most like the first thick slice: the real
#: one's, and the one index-based simulation picks.
FIG7 = {"real_best_thin_slice": 4, "index_best_thin_slice": 3}

#: Where each constant comes from in the paper.
WHERE = {
    "TABLE3": "Table III", "TABLE3_LABELS": "Table III", "TABLE4": "Table IV", "TABLE4_NO_DAGGER": "Table IV",
    "TABLE5": "Table V", "TABLE5_FEATURES": "Table V", "CONCORDANCE": "Table V (text)", "TABLE6": "Table VI",
    "CLINICAL_COHORT": "Section VI-D", "L286": "Section II-B, Fig. 2a", "FIG7": "Section VI-C, Fig. 7",
}
