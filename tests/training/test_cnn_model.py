import pytest
import torch

from training.model import LeNet, build_model


def test_cifar_network_is_the_books_lenet() -> None:
    model, shape = build_model("cifar10")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 6, (5, 5)),
        (6, 16, (5, 5)),
    ]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(400, 120), (120, 84), (84, 10)]
    assert model(torch.zeros(2, shape.channels, shape.height, shape.width)).shape == (2, 10)


def test_digits_variant_takes_8x8_grey_images() -> None:
    model, shape = build_model("digits")
    assert (shape.channels, shape.height, shape.width) == (1, 8, 8)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)


def test_class_count_follows_the_labels() -> None:
    model, _ = build_model("digits", num_classes=3)
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 3)


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        build_model("mnist")


def test_lenet_default_is_cifar_shaped() -> None:
    assert LeNet()(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
