import keras
import numpy as np
import pytest
import tensorflow as tf

from hls4ml_symbolnet.step import step


def _gradient(x, slope):
    value = tf.constant(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(value)
        out = step(value, slope)
    return out.numpy(), tape.gradient(out, value).numpy()


def test_step_forward_is_exact():
    out, _ = _gradient([-1.0, -1e-7, 0.0, 1e-7, 2.0], 5.0)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("slope", [1.0, 5.0, 20.0])
def test_step_gradient_is_sigmoid_derivative(slope):
    x = np.array([-2.0, -0.3, 0.0, 0.3, 2.0], dtype=np.float32)
    _, grad = _gradient(x, slope)
    s = 1.0 / (1.0 + np.exp(-slope * x.astype(np.float64)))
    np.testing.assert_allclose(grad, slope * s * (1 - s), rtol=1e-3, atol=1e-6)


def test_step_gradient_at_zero_is_quarter_slope():
    _, grad = _gradient([0.0], 5.0)
    assert grad[0] == pytest.approx(1.25)


def test_step_gradient_nonzero_far_from_zero():
    _, grad = _gradient([-3.0, 3.0], 5.0)
    assert np.all(grad > 0)


def test_step_works_through_keras_ops():
    out = step(keras.ops.convert_to_tensor([0.5, -0.5]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), [1.0, 0.0])
