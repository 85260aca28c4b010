import pytest
import torch

from t2tcore.sr.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from t2tcore.sr.errors import CheckpointError


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a t2t SR checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a t2t SR checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    save_checkpoint({"format": FORMAT, "format_version": 99}, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(tmp_path / "new.pt")
    save_checkpoint({"format": FORMAT, "format_version": 1}, tmp_path / "part.pt")
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path / "part.pt")


def test_checkpoint_loads_without_running_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    torch.save({"format": FORMAT, "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError):  # weights_only loading refuses arbitrary objects
        load_checkpoint(tmp_path / "evil.pt")
    assert not list(tmp_path.glob(".*.tmp"))
