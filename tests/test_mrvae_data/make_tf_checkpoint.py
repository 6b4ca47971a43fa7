"""Writes tiny.ckpt.* here: a real TensorFlow checkpoint of MR-VAE's 121 model variables at width 2, for
testing facebench's TF-free checkpoint reader (tests/test_mrvae_weights.py). Not run by the tests.

Made once with TensorFlow 2.21 (tensorflow-cpu, tf.compat.v1 graph mode, the `tf.train.Saver` the
authors' trainer uses), in a throwaway virtualenv: facebench itself never needs TensorFlow.
    python make_tf_checkpoint.py /work/shared/specs/mrvae/state_dict.tsv
Each variable holds `expected_value(name, shape)` (repeated in the test); the checkpoint also holds what
the authors' checkpoints hold besides the model: `global_step` (int64) and Adam slots `<var>/Adam`,
`<var>/Adam_1` plus the beta-power accumulators (one Adam step is run so they are not all zero).
"""
import sys
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

WIDTH = 2
HERE = Path(__file__).resolve().parent


def expected_value(name: str, shape) -> np.ndarray:
    """Deterministic float32 values: ((7 i + crc32(name)) mod 1001 - 500) / 1000, i = flat index."""
    count = int(np.prod(shape, dtype=np.int64))
    return (((np.arange(count) * 7 + zlib.crc32(name.encode())) % 1001 - 500) / 1000).astype(np.float32).reshape(shape)


def scaled_shape(shape):
    """A shape of the width-64 table scaled to WIDTH (3-channel RGB ends and 3 + w concatenations kept)."""
    def scale(c):
        if c == 3:
            return 3
        if c == 67:
            return 3 + WIDTH
        return c * WIDTH // 64
    return tuple(shape[:-2]) + tuple(scale(c) for c in shape[-2:]) if len(shape) == 4 else (scale(shape[0]),)


def main(tsv: str) -> None:
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    rows = [line.split("\t") for line in Path(tsv).read_text().splitlines() if line and not line.startswith("#")]
    variables = []
    for name, shape, _, _ in rows:
        dims = scaled_shape(tuple(int(s) for s in shape.strip("()").split(",") if s.strip()))
        trainable = not name.endswith(("moving_mean", "moving_variance"))
        variables.append(tf1.get_variable(name, initializer=expected_value(name, dims), trainable=trainable))
    step = tf1.train.get_or_create_global_step()
    with tf1.name_scope("Loss"):
        loss = tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables if v.trainable])
        train = tf1.train.AdamOptimizer(1e-3).minimize(loss, global_step=step)
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        for var, (name, _, _, _) in zip(variables, rows):
            var.load(expected_value(name, var.shape.as_list()), sess)
        sess.run(train)
        for var, (name, _, _, _) in zip(variables, rows):  # undo the step on the model variables only
            var.load(expected_value(name, var.shape.as_list()), sess)
        tf1.train.Saver().save(sess, str(HERE / "tiny.ckpt"), write_meta_graph=False)
    # as a checkpoint copied from another machine: `checkpoint` names a path that does not exist here
    (HERE / "checkpoint").write_text('model_checkpoint_path: "E:\\\\MR-VAE\\\\summary\\\\tiny.ckpt"\n')


if __name__ == "__main__":
    main(sys.argv[1])
