import pytest

from t2tcore.io import write_series
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
    with pytest.raises(SRError, match="rplhr_ct"):
        datasets.training_paths(tmp_path, "rplhr_ct")
    with pytest.raises(SRError, match="unknown dataset"):
        datasets.test_cases(tmp_path, "mayo")
