"""QKeras + TFMOT baselines: architectures, pruning, Keras 2/3 routing and hls4ml firmware agreement.

QKeras and TFMOT need ``tf.keras`` to be Keras 2, so this module sets ``TF_USE_LEGACY_KERAS=1`` before
anything imports TensorFlow. That works only when no earlier test module imported TensorFlow; otherwise
importing the baselines raises a RuntimeError that names the variable to set.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import hls4ml  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hls4ml_symbolnet.baselines import legacy_keras  # noqa: E402
from hls4ml_symbolnet.baselines.keras2_routing import (  # noqa: E402
    config_from_keras_model,
    convert_from_keras_model,
    is_tf_keras_model,
)
from hls4ml_symbolnet.baselines.qp_conversion import (  # noqa: E402
    class_agreement,
    convert_qp_model,
    signed_integer_bits,
)
from hls4ml_symbolnet.baselines.qp_models import (  # noqa: E402
    build_float_cnn,
    build_float_dnn,
    build_qp_cnn,
    build_qp_dnn,
    to_images,
)
from hls4ml_symbolnet.baselines.qp_training import (  # noqa: E402
    train_classifier,
    train_qp_cnn,
    train_qp_dnn,
    weight_sparsity,
)

from hls4ml_symbolnet.datasets import load_jets, load_mnist  # noqa: E402

MNIST_SHAPE = (28, 28, 1)
SVHN_SHAPE = (32, 32, 3)
MIN_AGREEMENT = 0.98


def _spy(monkeypatch, module, name):
    """Record calls to ``module.name`` while still running it."""
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _keras3_dense_model():
    inputs = keras.Input(shape=(4,), name="features")
    outputs = keras.layers.Dense(3, name="dense")(inputs)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def jets(data_dir):
    return load_jets(data_dir, max_rows=6000, seed=0)


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_mnist(data_dir, allow_download=False, seed=0)


@pytest.fixture(scope="module")
def trained_dnn(jets):
    start = time.perf_counter()
    model, history = train_qp_dnn(
        jets.x_train, jets.y_train, jets.x_val, jets.y_val, epochs=10, batch_size=256, seed=1
    )
    elapsed = time.perf_counter() - start
    print(f"QP DNN: trained in {elapsed:.1f} s, val accuracy {history['val_accuracy'][-1]:.3f}")
    return model, history


# Legacy Keras selection


def test_legacy_keras_active_in_this_process():
    legacy_keras.ensure_legacy_keras()
    import tensorflow as tf

    assert tf.keras.Model.__module__.startswith("tf_keras.")
    assert keras.__version__.startswith("3.")


def test_legacy_keras_sets_variable_before_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    legacy_keras.ensure_legacy_keras()
    assert os.environ["TF_USE_LEGACY_KERAS"] == "1"


KERAS3_FIRST_IMPORTS = {
    "tensorflow": "import tensorflow as tf\ntf.keras.Model\n",
    "keras_then_variable": "import keras, os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("preamble", KERAS3_FIRST_IMPORTS.values(), ids=KERAS3_FIRST_IMPORTS.keys())
def test_legacy_keras_rejects_late_variable(preamble):
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    code = preamble + (
        "from hls4ml_symbolnet.baselines.legacy_keras import ensure_legacy_keras\nensure_legacy_keras()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert "TF_USE_LEGACY_KERAS=1" in result.stderr


# Keras 2 / Keras 3 routing for hls4ml


def test_is_tf_keras_model_by_type():
    assert is_tf_keras_model(build_qp_dnn())
    assert not is_tf_keras_model(_keras3_dense_model())
    assert not is_tf_keras_model(object())


def test_hls4ml_own_parser_fails_on_tf_keras():
    # If hls4ml starts routing tf_keras models itself, this fails and keras2_routing can go.
    with pytest.raises(AttributeError, match="arguments"):
        hls4ml.utils.config_from_keras_model(build_qp_dnn(), granularity="name")


def test_tf_keras_model_routed_to_v2_parser(monkeypatch, tmp_path):
    v2_parse_calls = _spy(monkeypatch, hls4ml.converters, "parse_keras_model")
    v3_parse_calls = _spy(monkeypatch, hls4ml.converters, "parse_keras_v3_model")
    v2_convert_calls = _spy(monkeypatch, hls4ml.converters, "keras_v2_to_hls")
    v3_convert_calls = _spy(monkeypatch, hls4ml.converters, "keras_v3_to_hls")
    model = build_qp_dnn()

    config = config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = convert_from_keras_model(
        model, output_dir=str(tmp_path), backend="Vitis", hls_config=config, io_type="io_parallel"
    )

    assert v2_parse_calls
    assert v2_convert_calls == ["keras_v2_to_hls"]
    assert v3_parse_calls == []
    assert v3_convert_calls == []
    assert "dense_1" in hls_model.graph


def test_keras3_model_left_to_hls4ml(monkeypatch, tmp_path):
    v2_parse_calls = _spy(monkeypatch, hls4ml.converters, "parse_keras_model")
    v3_parse_calls = _spy(monkeypatch, hls4ml.converters, "parse_keras_v3_model")
    v2_convert_calls = _spy(monkeypatch, hls4ml.converters, "keras_v2_to_hls")
    v3_convert_calls = _spy(monkeypatch, hls4ml.converters, "keras_v3_to_hls")
    model = _keras3_dense_model()

    config = config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = convert_from_keras_model(
        model, output_dir=str(tmp_path), backend="Vitis", hls_config=config, io_type="io_parallel"
    )

    assert v3_parse_calls
    assert v3_convert_calls == ["keras_v3_to_hls"]
    assert v2_parse_calls == []
    assert v2_convert_calls == []
    assert "dense" in hls_model.graph


@pytest.mark.slow
def test_keras3_model_trains_and_compiles(tmp_path):
    """A Keras 3 model still trains and converts in a process with TF_USE_LEGACY_KERAS=1."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(256, 4)).astype("float32")
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 3], 0.5 * x[:, 0]], axis=1)
    model = _keras3_dense_model()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"][-1])

    config = config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = convert_from_keras_model(
        model, output_dir=str(tmp_path), backend="Vitis", hls_config=config, io_type="io_parallel"
    )
    hls_model.compile()
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(hls_model.predict(x), expected, atol=0.02)


# Architectures


def test_float_models_mirror_quantized_ones():
    assert build_float_dnn().count_params() == build_qp_dnn().count_params()
    assert build_float_cnn().count_params() == build_qp_cnn().count_params()
    qp_names = [layer.name for layer in build_qp_cnn(SVHN_SHAPE, 2).layers]
    float_names = [layer.name for layer in build_float_cnn(SVHN_SHAPE, 2).layers]
    assert qp_names == float_names


def test_qp_dnn_layer_widths():
    model = build_qp_dnn(16, 5)
    widths = [model.get_layer(name).units for name in ("dense_1", "dense_2", "dense_3", "output_dense")]
    assert widths == [64, 32, 32, 5]
    assert model.get_layer("output_activation").get_config()["activation"] == "softmax"


def test_qp_cnn_layers_and_binary_output():
    model = build_qp_cnn(SVHN_SHAPE, 2)
    filters = [model.get_layer(f"conv_{index}").filters for index in (1, 2, 3)]
    units = [model.get_layer(name).units for name in ("dense_1", "dense_2", "output_dense")]
    assert filters == [16, 16, 24]
    assert units == [42, 64, 1]
    assert model.get_layer("output_activation").get_config()["activation"] == "sigmoid"


def test_qp_cnn_predicts_svhn_samples(data_dir):
    samples = np.load(data_dir / "svhn_samples" / "svhn_17_samples.npz")
    flat = samples["x"].reshape(len(samples["x"]), -1).astype("float32") / 255.0
    images = to_images(flat, SVHN_SHAPE)
    np.testing.assert_array_equal(images, samples["x"] / np.float32(255.0))

    predictions = build_qp_cnn(SVHN_SHAPE, 10).predict(images, verbose=0)
    assert predictions.shape == (17, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_to_images_rejects_wrong_width():
    with pytest.raises(ValueError, match="784"):
        to_images(np.zeros((2, 780), dtype="float32"), MNIST_SHAPE)


def test_qp_cnn_rejects_small_images():
    with pytest.raises(ValueError, match="too small"):
        build_qp_cnn((16, 16, 1), 10)


def test_quantization_rejects_integer_bits_beyond_width():
    with pytest.raises(ValueError, match="integer_bits"):
        build_qp_dnn(bits=4, integer_bits=4)


# Training and pruning


def test_training_rejects_out_of_range_labels(jets):
    bad_labels = jets.y_train[:512].copy()
    bad_labels[0] = 7
    with pytest.raises(ValueError, match="outside"):
        train_qp_dnn(
            jets.x_train[:512], bad_labels, None, None, epochs=1, batch_size=128, seed=0, n_classes=5
        )


def test_pruning_rejects_single_step(jets):
    with pytest.raises(ValueError, match="at least 2 training steps"):
        train_qp_dnn(jets.x_train[:100], jets.y_train[:100], None, None, epochs=1, batch_size=256, seed=0)


def test_float_dnn_trains_unpruned(jets):
    model, history = train_classifier(
        build_float_dnn(16, 5),
        jets.x_train[:1024],
        jets.y_train[:1024],
        None,
        None,
        epochs=1,
        batch_size=256,
        seed=0,
    )
    assert len(history["loss"]) == 1
    assert weight_sparsity(model) < 0.01


@pytest.mark.slow
def test_qp_dnn_sparsity_reaches_target(trained_dnn):
    model, _ = trained_dnn
    sparsity = weight_sparsity(model)
    print(f"QP DNN weight sparsity: {sparsity:.4f}")
    assert sparsity == pytest.approx(0.9, abs=0.01)
    for name in ("dense_1", "dense_2", "dense_3", "output_dense"):
        kernel = model.get_layer(name).get_weights()[0]
        assert np.mean(kernel == 0) == pytest.approx(0.9, abs=0.02), name


@pytest.mark.slow
def test_qp_dnn_learns(trained_dnn, jets):
    model, _ = trained_dnn
    accuracy = np.mean(np.argmax(model.predict(jets.x_test, verbose=0), axis=1) == jets.y_test)
    print(f"QP DNN test accuracy: {accuracy:.3f}")
    # Five balanced classes: chance is 0.2.
    assert accuracy > 0.35


# hls4ml conversion


def test_signed_integer_bits_covers_range():
    assert signed_integer_bits(0.0) == 1
    assert signed_integer_bits(0.99) == 1
    assert signed_integer_bits(1.0) == 2
    assert signed_integer_bits(3.9) == 3
    assert signed_integer_bits(4.0) == 4
    with pytest.raises(ValueError, match="max_abs"):
        signed_integer_bits(float("nan"))


def test_class_agreement_sigmoid_and_softmax():
    assert class_agreement(np.array([[0.2], [0.7]]), np.array([[0.4], [0.6]])) == 1.0
    assert class_agreement(np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([[0.3, 0.7], [0.4, 0.6]])) == 0.5
    with pytest.raises(ValueError, match="shapes differ"):
        class_agreement(np.zeros((2, 3)), np.zeros((2, 2)))


def test_convert_rejects_unknown_io_type(tmp_path):
    with pytest.raises(ValueError, match="io_type"):
        convert_qp_model(build_qp_dnn(), tmp_path, io_type="io_serial")


@pytest.mark.slow
def test_qp_dnn_firmware_matches_keras(trained_dnn, jets, tmp_path):
    model, _ = trained_dnn
    hls_model = convert_qp_model(
        model, tmp_path / "qp_dnn", io_type="io_parallel", calibration_data=jets.x_train[:500]
    )

    for name in ("dense_1", "dense_2", "dense_3", "output_dense"):
        weight_type = hls_model.graph[name].get_attr("weight_t").precision
        assert (weight_type.width, weight_type.integer, weight_type.signed) == (6, 1, True), name
    for name in ("relu_1", "relu_2", "relu_3"):
        result_type = hls_model.graph[name].get_attr("result_t").precision
        assert (result_type.width, result_type.integer, result_type.signed) == (6, 0, False), name
    logits_type = hls_model.graph["output_dense"].get_attr("result_t").precision
    assert logits_type.width == 16

    start = time.perf_counter()
    hls_model.compile()
    print(f"QP DNN io_parallel compile: {time.perf_counter() - start:.1f} s")

    keras_probabilities = model.predict(jets.x_test, verbose=0)
    hls_probabilities = hls_model.predict(np.ascontiguousarray(jets.x_test))
    agreement = class_agreement(keras_probabilities, hls_probabilities)
    max_difference = float(np.max(np.abs(keras_probabilities - hls_probabilities)))
    print(f"QP DNN firmware: agreement {agreement:.4f} on {len(jets.x_test)} rows")
    print(f"QP DNN firmware: max probability difference {max_difference:.4f}")
    assert agreement >= MIN_AGREEMENT
    assert max_difference < 0.1


@pytest.mark.slow
def test_qp_dnn_sigmoid_firmware_matches_keras(jets, tmp_path):
    # A two-class DNN, quark (label 1) against top (label 4) jets, exercises the sigmoid output.
    def quark_vs_top(x, y):
        keep = (y == 1) | (y == 4)
        return x[keep], (y[keep] == 4).astype("int64")

    x_train, y_train = quark_vs_top(jets.x_train, jets.y_train)
    x_test, y_test = quark_vs_top(jets.x_test, jets.y_test)
    model, _ = train_classifier(
        build_qp_dnn(16, 2),
        x_train,
        y_train,
        None,
        None,
        epochs=10,
        batch_size=128,
        seed=2,
        target_sparsity=0.9,
        learning_rate=3e-3,
    )
    hls_model = convert_qp_model(
        model, tmp_path / "qp_dnn_binary", io_type="io_parallel", calibration_data=x_train
    )
    hls_model.compile()

    keras_probabilities = model.predict(x_test, verbose=0)
    hls_probabilities = hls_model.predict(np.ascontiguousarray(x_test)).reshape(keras_probabilities.shape)
    agreement = class_agreement(keras_probabilities, hls_probabilities)
    accuracy = np.mean((keras_probabilities[:, 0] > 0.5) == y_test)
    print(f"QP DNN quark vs top: Keras accuracy {accuracy:.3f} on {len(x_test)} rows")
    print(f"QP DNN quark vs top: firmware agreement {agreement:.4f}")
    assert accuracy > 0.75
    assert agreement >= MIN_AGREEMENT


@pytest.mark.slow
def test_qp_cnn_firmware_matches_keras(mnist, tmp_path):
    start = time.perf_counter()
    model, history = train_qp_cnn(
        mnist.x_train[:2000],
        mnist.y_train[:2000],
        mnist.x_val[:500],
        mnist.y_val[:500],
        image_shape=MNIST_SHAPE,
        epochs=6,
        batch_size=128,
        seed=1,
        learning_rate=1e-2,
    )
    elapsed = time.perf_counter() - start
    print(f"QP CNN: trained in {elapsed:.1f} s, val accuracy {history['val_accuracy'][-1]:.3f}")
    sparsity = weight_sparsity(model)
    print(f"QP CNN weight sparsity: {sparsity:.4f}")
    assert sparsity == pytest.approx(0.92, abs=0.01)

    x_test = to_images(mnist.x_test[:200], MNIST_SHAPE)
    keras_probabilities = model.predict(x_test, verbose=0)
    # Agreement is meaningful only when the model has learned enough that classes are rarely near-tied.
    accuracy = np.mean(np.argmax(keras_probabilities, axis=1) == mnist.y_test[:200])
    print(f"QP CNN test accuracy: {accuracy:.3f}")
    assert accuracy > 0.5

    hls_model = convert_qp_model(
        model,
        tmp_path / "qp_cnn",
        io_type="io_stream",
        calibration_data=to_images(mnist.x_train[:300], MNIST_SHAPE),
    )
    conv_weight = hls_model.graph["conv_1"].get_attr("weight_t").precision
    assert (conv_weight.width, conv_weight.integer) == (6, 1)

    start = time.perf_counter()
    hls_model.compile()
    print(f"QP CNN io_stream compile: {time.perf_counter() - start:.1f} s")
    hls_probabilities = hls_model.predict(np.ascontiguousarray(x_test))
    agreement = class_agreement(keras_probabilities, hls_probabilities)
    print(f"QP CNN firmware: agreement {agreement:.4f} on {len(x_test)} images")
    assert agreement >= MIN_AGREEMENT
