import pytest
import torch
from torch import nn

from training.models import (
    CSPup,
    Discriminator,
    Generator,
    count_parameters,
    init_weights,
    make_activation,
    recalibrate_batchnorm,
)


def test_original_generator_parameter_count():
    assert count_parameters(Generator(nz=200, ngf=64)) == 21_036_992


def test_block_shapes():
    block = CSPup(32)
    out = block(torch.randn(2, 64, 8, 8))
    assert out.shape == (2, 32, 16, 16)


@pytest.mark.parametrize("size", [64, 128])
def test_generator_and_discriminator_shapes(size):
    G = Generator(nz=16, ngf=4, image_size=size)
    D = Discriminator(ndf=4, image_size=size)
    images = G(torch.randn(3, 16, 1, 1))
    assert images.shape == (3, 3, size, size)
    assert images.abs().max() <= 1.0
    assert D(images).shape == (3,)


def test_image_size_must_be_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        Generator(image_size=96)


def test_identity_activation_reproduces_original_leaky_relu_true():
    # The original's nn.LeakyReLU(True) has negative_slope=1.0: exactly the identity.
    torch.manual_seed(0)
    ours = CSPup(8, activation="identity").eval()
    original = CSPup(8, activation="identity").eval()
    original.main[2] = nn.LeakyReLU(True)
    original.main[6] = nn.LeakyReLU(True)
    original.load_state_dict(ours.state_dict())
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(ours(x), original(x), rtol=0, atol=0)
    assert nn.LeakyReLU(True).negative_slope == 1.0


@pytest.mark.parametrize("name,cls", [("leaky_relu", nn.LeakyReLU), ("tanh", nn.Tanh), ("relu", nn.ReLU)])
def test_activation_choices(name, cls):
    act = make_activation(name)
    assert isinstance(act, cls)
    if name == "leaky_relu":
        assert act.negative_slope == 0.2
    with pytest.raises(ValueError):
        make_activation("gelu")


def test_dcgan_init():
    torch.manual_seed(0)
    G = Generator(nz=200, ngf=64)
    G.apply(init_weights)
    convs = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    bn_w = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    bn_b = torch.cat([m.bias for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(convs.mean().item()) < 1e-3 and abs(convs.std().item() - 0.02) < 1e-3
    assert abs(bn_w.mean().item() - 1.0) < 5e-3 and abs(bn_w.std().item() - 0.02) < 5e-3
    assert bn_b.abs().max().item() == 0.0


def test_recalibrated_eval_mode_matches_train_mode_statistics():
    torch.manual_seed(0)
    G = Generator(nz=16, ngf=4)
    G.apply(init_weights)
    recalibrate_batchnorm(G, 16, batches=8, batch_size=64)
    z = torch.randn(256, 16, 1, 1)
    with torch.no_grad():
        eval_out = G.eval()(z)
        train_out = G.train()(z)
    # With exact running statistics, eval mode is batch-independent yet close to train-mode output.
    assert (eval_out - train_out).abs().mean() < 0.05
    with torch.no_grad():
        G.eval()
        single = torch.cat([G(z[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(single, G(z[:4]), rtol=1e-5, atol=1e-5)
