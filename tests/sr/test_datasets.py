import pytest

from t2tcore.errors import T2TError
from t2tcore.io import read_series, write_series
from t2tcore.data import series_dir, training_series_dir
from t2tcore.sr import datasets
from t2tcore.sr.errors import SRError

from tests.sr.conftest import thick_of, thin_series


def test_ldct_gc_layout(tmp_path):
    for i, p in enumerate(["V001", "V002"]):
        thin = thin_series(n=12, size=16, seed=i, patient=p)
        write_series(thin, series_dir(tmp_path, p, "B30", "full", "1mm"))
        if p == "V001":  # V002 has no thick series: left out
            write_series(thick_of(thin), series_dir(tmp_path, p, "B30", "full", "3mm"))
    write_series(thin_series(n=12, size=16, seed=5, patient="V501"), training_series_dir(tmp_path, "V501"))
    with pytest.warns(Warning, match="V002"):
        cases = datasets.test_cases(tmp_path, kernels=["B30"], doses=["full"])
    assert [(c.patient, c.kernel, c.dose) for c in cases] == [("V001", "B30", "full")]
    assert cases[0].thin == series_dir(tmp_path, "V001", "B30", "full", "1mm")
    assert datasets.training_paths(tmp_path) == [training_series_dir(tmp_path, "V501")]
    with pytest.raises(T2TError, match="no RPLHR-CT tree"):  # not an RPLHR-CT folder
        datasets.training_paths(tmp_path, "rplhr_ct")
    with pytest.raises(SRError, match="unknown dataset"):
        datasets.test_cases(tmp_path, "mayo")


def test_rplhr_ct_test_split_pairs_read_with_the_nominal_thickness(rplhr_train_tree):
    import warnings

    import numpy as np

    from t2tcore.data import rplhr
    from t2tcore.errors import SeriesWarning
    from t2tcore.evaluation.datasets import RPLHR_DOSE, RPLHR_KERNEL

    cases = datasets.test_cases(rplhr_train_tree, "rplhr_ct")
    assert [(c.patient, c.kernel, c.dose) for c in cases] == [("case000", RPLHR_KERNEL, RPLHR_DOSE),
                                                              ("case001", RPLHR_KERNEL, RPLHR_DOSE)]
    assert [(c.thin, c.thick) for c in cases] == [rplhr.case_paths(rplhr_train_tree, "test", c.patient) for c in cases]
    assert datasets.test_cases(rplhr_train_tree.parent, "rplhr_ct", patients=["case001"])[0].patient == "case001"
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)  # no slice-spacing fallback
        thin, thick = cases[0].read()
    assert thin.thickness == 1.0 and thick.thickness == 5.0
    assert thin.shape == (35, 16, 16) and thick.shape == (7, 16, 16)
    for z in range(7):  # positions from the affines: thick slice z at the centre of thin slices 5z..5z+4
        assert thick.positions[z] == pytest.approx(np.mean(thin.positions[list(rplhr.thin_indices(z))]), abs=1e-4)
    with pytest.warns(SeriesWarning, match="slice spacing"):  # what reading without it would do
        read_series(cases[0].thick)
    with pytest.raises(SRError, match="one kernel and one dose"):
        datasets.test_cases(rplhr_train_tree, "rplhr_ct", kernels=["B30"])


def test_rplhr_ct_trains_on_the_thin_volumes_of_the_train_split(rplhr_train_tree, tmp_path):
    import shutil
    import warnings

    from t2tcore.data import rplhr
    from t2tcore.errors import SeriesWarning
    from t2tcore.studies import sr_training as study

    paths = datasets.training_paths(rplhr_train_tree, "rplhr_ct")
    assert paths == [rplhr.case_paths(rplhr_train_tree, "train", c)[0] for c in ("case000", "case001")]
    assert datasets.nominal_thickness("rplhr_ct") == (1.0, 5.0) and datasets.nominal_thickness() == (None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)
        train = study.read_training(rplhr_train_tree, "rplhr_ct")
    assert [s.patient for s in train] == ["case000", "case001"] and [s.thickness for s in train] == [1.0, 1.0]
    assert all(s.volume.shape == (35, 16, 16) for s in train)
    shutil.copytree(rplhr_train_tree / "test", tmp_path / "test")  # a tree with a test split only
    with pytest.raises(SRError, match="no 1mm volume in the train split"):
        datasets.training_paths(tmp_path, "rplhr_ct")
