import numpy as np
import pytest
from cnn_helpers import random_cifar, write_cifar_batch
from sklearn.datasets import load_digits

from training.data import (
    CIFAR_LABELS,
    CIFAR_RECORD_BYTES,
    digits_pixels,
    digits_split,
    load_cifar10,
    load_dataset,
    load_digits_data,
    read_cifar_batch,
)


def test_digits_pixels_are_8_bit_grey_of_the_0_to_16_values() -> None:
    pixels, labels = digits_pixels()
    values = load_digits().images
    assert pixels.shape == (1797, 8, 8, 1) and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[..., 0], np.rint(values * 255 / 16))
    assert pixels.max() == 255 and set(labels.tolist()) == set(range(10))


def test_digits_split_is_stratified_disjoint_and_fixed() -> None:
    _, labels = digits_pixels()
    train, test = digits_split(labels)
    assert len(test) == 360 and len(train) == 1437
    assert not set(train.tolist()) & set(test.tolist())
    np.testing.assert_array_equal(test, digits_split(labels)[1])
    assert np.bincount(labels[test]).min() >= 35  # every digit is held out in proportion


def test_digits_data_is_nchw_uint8() -> None:
    data = load_digits_data()
    assert data.train_x.shape == (1437, 1, 8, 8) and data.test_x.shape == (360, 1, 8, 8)
    assert data.labels == tuple("0123456789")


def test_cifar_batches_are_read_pixel_for_pixel(tmp_path) -> None:
    rng = np.random.default_rng(0)
    (train_a, labels_a), (train_b, labels_b), (test, test_labels) = (random_cifar(rng, n) for n in (3, 2, 4))
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    write_cifar_batch(folder / "data_batch_1.bin", train_a, labels_a)
    write_cifar_batch(folder / "data_batch_2.bin", train_b, labels_b)
    write_cifar_batch(folder / "test_batch.bin", test, test_labels)

    data = load_cifar10(tmp_path)  # the folder above cifar-10-batches-bin, as the archive unpacks

    np.testing.assert_array_equal(
        data.train_x.permute(0, 2, 3, 1).numpy(), np.concatenate([train_a, train_b])
    )
    np.testing.assert_array_equal(data.train_y.numpy(), np.concatenate([labels_a, labels_b]))
    np.testing.assert_array_equal(data.test_x.permute(0, 2, 3, 1).numpy(), test)
    assert data.labels == CIFAR_LABELS


def test_cifar_record_layout_is_label_then_red_green_blue_planes(tmp_path) -> None:
    record = np.zeros(CIFAR_RECORD_BYTES, dtype=np.uint8)
    record[0] = 7
    record[1 + 5 * 32 + 6] = 10  # red plane, row 5, column 6
    record[1 + 1024 + 31] = 20  # green plane, row 0, column 31
    record[1 + 2048 + 32 * 31] = 30  # blue plane, row 31, column 0
    record.tofile(tmp_path / "one.bin")
    images, labels = read_cifar_batch(tmp_path / "one.bin")
    assert labels.tolist() == [7]
    assert (images[0, 5, 6, 0], images[0, 0, 31, 1], images[0, 31, 0, 2]) == (10, 20, 30)
    assert int(images.sum()) == 60


def test_cifar_label_names_come_from_batches_meta(tmp_path) -> None:
    images, labels = random_cifar(np.random.default_rng(1), 2)
    for name in ("data_batch_1.bin", "test_batch.bin"):
        write_cifar_batch(tmp_path / name, images, labels)
    (tmp_path / "batches.meta.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n\n")
    assert load_cifar10(tmp_path).labels == tuple(f"class{i}" for i in range(10))


def test_truncated_cifar_file_is_refused(tmp_path) -> None:
    (tmp_path / "bad.bin").write_bytes(b"\x01" * (CIFAR_RECORD_BYTES + 5))
    with pytest.raises(ValueError, match="whole number"):
        read_cifar_batch(tmp_path / "bad.bin")


def test_missing_cifar_files_are_reported(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="data_batch"):
        load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="--data-dir"):
        load_dataset("cifar10")
