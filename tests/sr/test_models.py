import math

import pytest
import torch

from t2tcore.sr.models import MODELS, build_discriminator, build_model, parameter_megabytes
from t2tcore.sr.models.esrgan import discriminator_loss, generator_adv_loss


@pytest.mark.parametrize("name", list(MODELS))
def test_shape_and_global_residual(name):
    torch.manual_seed(0)
    model = build_model(name, "small").eval()
    x = torch.randn(2, 1, 8, 16, 24)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    # the residual branch ends in a zero-initialised head: the untrained model is the identity,
    # which only a global skip connection can give
    assert torch.equal(y, x)
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.1)
        y2 = model(x)
        y3 = model(x + 1.0)
    assert not torch.allclose(y2, x)
    # out = x + f(x): shifting the input shifts the output by that amount plus the change of f
    assert not torch.allclose(y3 - y2, torch.ones_like(x))


def test_unet_needs_multiples_and_declares_them():
    m = build_model("unet", "small")
    assert m.size_multiple == (4, 4, 4)
    assert build_model("vdsr", "small").size_multiple == (1, 1, 1)


def _conv_params(cin, cout, k=3):
    return cin * cout * k**3 + cout


@pytest.fixture(scope="module")
def paper_sizes():
    return {name: parameter_megabytes(name, "paper") for name in MODELS}


def test_paper_presets_sizes(paper_sizes):
    vdsr = paper_sizes["vdsr"]
    expected = _conv_params(1, 64) + 18 * _conv_params(64, 64) + _conv_params(64, 1)  # 20 layers of 64
    assert vdsr["parameters"] == expected
    assert vdsr["total_mb"] == pytest.approx(expected * 4 / 2**20)
    # the paper's Table VI: U-Net 4 MB, ESRResNet 40 MB, ESRGAN 83 MB (generator + discriminator)
    assert paper_sizes["unet"]["total_mb"] == pytest.approx(4, rel=0.2)
    assert paper_sizes["esrresnet"]["total_mb"] == pytest.approx(40, rel=0.1)
    g = paper_sizes["esrgan"]
    assert g["total_mb"] == pytest.approx(83, rel=0.05)
    assert g["discriminator_mb"] > 0 and g["generator_mb"] == paper_sizes["esrresnet"]["total_mb"]
    for name in MODELS:
        assert parameter_megabytes(name, "small")["total_mb"] < paper_sizes[name]["total_mb"] / 10


def test_discriminator_patch_logits():
    d = build_discriminator("esrgan", "small")
    assert build_discriminator("vdsr", "small") is None
    out = d(torch.randn(3, 1, 8, 24, 24))
    assert out.shape[:2] == (3, 1) and out.ndim == 5


def test_relativistic_losses_against_the_formula():
    torch.manual_seed(1)
    r, f = torch.randn(4, 1, 2, 3, 3), torch.randn(4, 1, 2, 3, 3)

    def bce(logit, target):  # literal binary cross-entropy of sigmoid(logit)
        s = 1 / (1 + torch.exp(-logit))
        return -(target * torch.log(s) + (1 - target) * torch.log(1 - s)).mean()

    dr, df = r - f.mean(), f - r.mean()
    assert discriminator_loss(r, f).item() == pytest.approx((bce(dr, 1.0) + bce(df, 0.0)).item(), rel=1e-5)
    assert generator_adv_loss(r, f).item() == pytest.approx((bce(dr, 0.0) + bce(df, 1.0)).item(), rel=1e-5)
    # a discriminator that ranks real above fake has a small loss; the generator a large one
    big = torch.full_like(r, 5.0)
    assert discriminator_loss(big, -big) < 0.01 and generator_adv_loss(big, -big) > 10
    assert math.isfinite(generator_adv_loss(r, f).item())
