"""dlib's face recognition ResNet, read from its ``.dat`` file and run with numpy.

``dlib_face_recognition_resnet_model_v1.dat`` holds a 29-layer ResNet that turns an
aligned 150×150 face chip into a 128-d vector. dlib-bin's wheels evaluate it with dlib's
own convolution code (no BLAS): 95–145 ms per face on this project's 2-core machine,
more than the whole per-photo budget of real mode. This module reads the same weights
and runs the same arithmetic as matrix products through numpy's BLAS: 12–19 ms on one
thread, and the vectors agree with dlib's to within 1e-6 (a test compares them).

The file format is dlib's serialisation of the network type ``anet_type`` from dlib's
``dnn_face_recognition_ex.cpp``:

* integers: one byte holding the byte count (high bit = negative), then that many
  little-endian bytes; strings: length, then bytes; reals: an integer mantissa and an
  integer exponent (value = m·2^e); flags: the characters ``'1'``/``'0'``;
  tensors: version 2, four dimensions, then raw little-endian float32s;
* the loss layer (``loss_metric_2``) first, then the version numbers of every nested
  wrapper layer from the top down (2 for a layer, 1 for a tag or skip, 3 for the layer
  sitting on the input), then the input layer, then one record per layer from the
  bottom up: its details followed by three flags and three (empty) tensors.

The layer sequence is checked against the architecture this module evaluates — a stem
(7×7/2 convolution, affine, ReLU, 3×3/2 max pooling), fourteen residual blocks (two
3×3 convolutions with affine layers; the four down-sampling blocks use a stride-2
first convolution and a 2×2/2 average pooling on the shortcut) and a global average
pooling followed by a 256→128 fully connected layer without bias. Anything else is
refused with :class:`ModelFormatError` instead of being evaluated wrongly.

Two details of dlib matter for exact agreement: a convolution pads by half its kernel
only when its stride is 1 (the stride-2 ones do not pad), and adding a shortcut whose
tensor is smaller than the block's output (fewer channels, or one row and column fewer
after an odd-sized pooling) treats the missing entries as zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The chip the network expects (rows, columns) and its per-channel input means.
INPUT_SIDE = 150
EMBEDDING_SIZE = 128


class ModelFormatError(ValueError):
    """The file is not the dlib face recognition ResNet this module can evaluate."""


# --------------------------------------------------------------------------- reading


class _Reader:
    """dlib's serialisation primitives over an in-memory file."""

    def __init__(self, data: bytes, name: str) -> None:
        self._data = data
        self._name = name
        self.pos = 0

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self._name}: {what} (at byte {self.pos})")

    def _take(self, count: int) -> bytes:
        end = self.pos + count
        if count < 0 or end > len(self._data):
            raise self.fail("file ends early")
        chunk = self._data[self.pos : end]
        self.pos = end
        return chunk

    def integer(self) -> int:
        header = self._take(1)[0]
        size = header & 0x0F
        if size > 8:
            raise self.fail(f"bad integer header 0x{header:02x}")
        value = int.from_bytes(self._take(size), "little")
        return -value if header & 0x80 else value

    def string(self) -> str:
        length = self.integer()
        if length > 256:
            raise self.fail(f"implausible string length {length}")
        return self._take(length).decode("latin-1")

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return float(mantissa) * 2.0**exponent

    def flags(self, count: int) -> None:
        if any(byte not in b"01" for byte in self._take(count)):
            raise self.fail("expected '0'/'1' flags")

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise self.fail(f"unsupported tensor version {version}")
        dims = tuple(self.integer() for _ in range(4))
        count = int(np.prod(dims))
        values = np.frombuffer(self._take(4 * count), dtype="<f4")
        return values.reshape(dims).astype(np.float32)

    def alias_shape(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise self.fail("unsupported alias tensor version")
        return self.integer(), self.integer(), self.integer(), self.integer()

    def expect(self, value: int, what: str) -> None:
        found = self.integer()
        if found != value:
            raise self.fail(f"expected {what} {value}, found {found}")

    def at_end(self) -> bool:
        return self.pos == len(self._data)


@dataclass(frozen=True)
class _Layer:
    """One layer record as read: its kind and what the evaluation needs of it."""

    kind: str
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    window: int = 0
    stride: int = 1
    padding: int = 0


def _read_layer(reader: _Reader) -> _Layer:
    name = reader.string()
    if name == "con_4":
        params = reader.tensor().ravel()
        filters, rows, cols = reader.integer(), reader.integer(), reader.integer()
        stride_y, stride_x = reader.integer(), reader.integer()
        pad_y, pad_x = reader.integer(), reader.integer()
        shape = reader.alias_shape()
        reader.alias_shape()  # biases: (1, filters, 1, 1)
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        channels = shape[1]
        if rows != cols or stride_y != stride_x or pad_y != pad_x or shape != (filters, channels, rows, cols):
            raise reader.fail("convolution shape not supported")
        size = filters * channels * rows * cols
        if params.size != size + filters:
            raise reader.fail("convolution parameters do not match its shape")
        weights = params[:size].reshape(filters, channels, rows, cols)
        return _Layer("conv", weights, params[size:], rows, stride_y, pad_y)
    if name == "affine_":
        params = reader.tensor().ravel()
        gamma = reader.alias_shape()
        reader.alias_shape()
        reader.integer()  # mode: per channel
        channels = gamma[1]
        if params.size != 2 * channels:
            raise reader.fail("affine parameters do not match its shape")
        return _Layer("affine", params[:channels], params[channels:])
    if name in ("relu_", "add_prev_"):
        return _Layer(name.rstrip("_"))
    if name in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
        if rows != cols or stride_y != stride_x or pad_y or pad_x:
            raise reader.fail("pooling shape not supported")
        return _Layer(name[:8], window=rows, stride=stride_y)
    if name == "fc_2":
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor().ravel()
        reader.alias_shape()
        reader.alias_shape()
        bias_mode = reader.integer()
        for _ in range(4):
            reader.real()
        if bias_mode != 1 or params.size != inputs * outputs:
            raise reader.fail("only a fully connected layer without bias is supported")
        return _Layer("fc", params.reshape(inputs, outputs))
    raise reader.fail(f"unsupported layer {name!r}")


def read_layers(data: bytes, name: str = "model") -> tuple[tuple[float, float, float], list[_Layer]]:
    """The input means and the layer records (bottom up) of a serialised network."""
    reader = _Reader(data, name)
    reader.expect(1, "loss layer version")
    if reader.string() != "loss_metric_2":
        raise reader.fail("not a metric-learning network (loss_metric_2)")
    reader.real(), reader.real()  # margin and distance threshold used in training
    wrappers: list[int] = []
    while (version := reader.integer()) != 3:
        if version not in (1, 2) or len(wrappers) > 10_000:
            raise reader.fail(f"unexpected layer version {version}")
        wrappers.append(version)
    if reader.string() != "input_rgb_image_sized":
        raise reader.fail("input is not an RGB image layer")
    means = (reader.real(), reader.real(), reader.real())
    reader.expect(INPUT_SIDE, "input rows")
    reader.expect(INPUT_SIDE, "input columns")
    layers: list[_Layer] = []
    for index in range(wrappers.count(2) + 1):
        layers.append(_read_layer(reader))
        reader.flags(3)
        for _ in range(3):  # gradient and output caches, empty in a saved model
            if reader.tensor().size:
                raise reader.fail("unexpected non-empty cache tensor")
        if index == 0:
            reader.integer()  # sample expansion factor of the bottom layer
    if not reader.at_end():
        raise reader.fail("trailing bytes after the last layer")
    return means, layers


# --------------------------------------------------------------------------- network


@dataclass(frozen=True)
class _Conv:
    """A convolution with its affine layer folded in, as an im2col matrix product."""

    matrix: np.ndarray  # (kernel·kernel·in_channels, out_channels)
    bias: np.ndarray  # (out_channels,)
    kernel: int
    stride: int
    padding: int

    @classmethod
    def fold(cls, conv: _Layer, affine: _Layer) -> _Conv:
        assert conv.weights is not None and conv.bias is not None
        assert affine.weights is not None and affine.bias is not None
        gamma, beta = affine.weights, affine.bias
        weights = conv.weights * gamma[:, None, None, None]
        filters = weights.shape[0]
        # (filters, channels, ky, kx) -> (ky, kx, channels, filters), matching the patches.
        matrix = np.ascontiguousarray(weights.transpose(2, 3, 1, 0).reshape(-1, filters), dtype=np.float32)
        bias = (conv.bias * gamma + beta).astype(np.float32)
        return cls(matrix, bias, conv.window, conv.stride, conv.padding)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.padding:
            p = self.padding
            x = np.pad(x, ((p, p), (p, p), (0, 0)))
        patches = _windows(x, self.kernel, self.stride)
        rows, cols = patches.shape[:2]
        out = patches.reshape(rows * cols, -1) @ self.matrix
        out += self.bias
        result: np.ndarray = out.reshape(rows, cols, -1)
        return result


@dataclass(frozen=True)
class _Block:
    """conv → affine → ReLU → conv → affine, plus the shortcut, then ReLU."""

    first: _Conv
    second: _Conv
    shortcut_pool: int  # 0: identity shortcut; 2: 2×2/2 average pooling

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = self.first(x)
        np.maximum(out, 0.0, out=out)
        out = self.second(out)
        shortcut = x
        if self.shortcut_pool:
            shortcut = _windows(x, self.shortcut_pool, self.shortcut_pool).mean(axis=(2, 3), dtype=np.float32)
        out = _add_zero_padded(out, shortcut)
        np.maximum(out, 0.0, out=out)
        return out


class FaceResNet:
    """The 128-d face embedding network, evaluated with numpy."""

    def __init__(self, means: tuple[float, float, float], layers: list[_Layer], name: str = "model") -> None:
        self._means = np.asarray(means, dtype=np.float32)
        self._stem, self._pool, self._blocks, self._fc = _assemble(layers, name)

    @classmethod
    def from_file(cls, path: Path) -> FaceResNet:
        means, layers = read_layers(path.read_bytes(), path.name)
        return cls(means, layers, path.name)

    @property
    def blocks(self) -> int:
        """Residual blocks (14 in dlib's model)."""
        return len(self._blocks)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        """Embedding (128 float64) of an aligned RGB uint8 chip of 150×150 pixels."""
        if chip.shape != (INPUT_SIDE, INPUT_SIDE, 3):
            raise ValueError(f"expected a {INPUT_SIDE}x{INPUT_SIDE} RGB chip, got shape {chip.shape}")
        x = (chip.astype(np.float32) - self._means) * np.float32(1.0 / 256.0)
        x = self._stem(x)
        np.maximum(x, 0.0, out=x)
        x = np.ascontiguousarray(_windows(x, self._pool, 2).max(axis=(2, 3)))
        for block in self._blocks:
            x = block(x)
        pooled = x.mean(axis=(0, 1), dtype=np.float32)
        embedding: np.ndarray = (pooled @ self._fc).astype(np.float64)
        return embedding


def _assemble(layers: list[_Layer], name: str) -> tuple[_Conv, int, list[_Block], np.ndarray]:
    """Check the layer sequence against the supported architecture and build it."""
    kinds = [layer.kind for layer in layers]

    def refuse(at: int, expected: str) -> ModelFormatError:
        found = kinds[at] if at < len(kinds) else "end of file"
        return ModelFormatError(f"{name}: layer {at} is {found}, expected {expected}")

    def expect(at: int, *wanted: str) -> None:
        for offset, kind in enumerate(wanted):
            if at + offset >= len(kinds) or kinds[at + offset] != kind:
                raise refuse(at + offset, kind)

    expect(0, "conv", "affine", "relu", "max_pool")
    stem = _Conv.fold(layers[0], layers[1])
    pool = layers[3].window
    blocks: list[_Block] = []
    at = 4
    while at < len(kinds) and kinds[at] == "conv":
        expect(at, "conv", "affine", "relu", "conv", "affine")
        first, second = _Conv.fold(layers[at], layers[at + 1]), _Conv.fold(layers[at + 3], layers[at + 4])
        at += 5
        shortcut_pool = 0
        if kinds[at : at + 1] == ["avg_pool"]:
            shortcut_pool = layers[at].window
            if shortcut_pool == 0 or layers[at].stride != shortcut_pool:
                raise refuse(at, "a 2x2/2 average pooling")
            at += 1
        expect(at, "add_prev", "relu")
        at += 2
        blocks.append(_Block(first, second, shortcut_pool))
    expect(at, "avg_pool", "fc")
    if layers[at].window != 0:
        raise refuse(at, "a global average pooling")
    fc = layers[at + 1].weights
    assert fc is not None
    if at + 2 != len(layers) or fc.shape[1] != EMBEDDING_SIZE:
        raise refuse(at + 2, f"the end of a {EMBEDDING_SIZE}-d embedding network")
    return stem, pool, blocks, np.ascontiguousarray(fc, dtype=np.float32)


def _windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """View (out_rows, out_cols, size, size, channels) of the size×size windows of x (no padding)."""
    x = np.ascontiguousarray(x)
    rows, cols, channels = x.shape
    out_rows, out_cols = 1 + (rows - size) // stride, 1 + (cols - size) // stride
    s_row, s_col, s_chan = x.strides
    return np.lib.stride_tricks.as_strided(
        x,
        shape=(out_rows, out_cols, size, size, channels),
        strides=(s_row * stride, s_col * stride, s_row, s_col, s_chan),
        writeable=False,
    )


def _add_zero_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b over the larger of the two shapes, missing entries counting as zero (dlib's add_prev)."""
    if a.shape == b.shape:
        total: np.ndarray = a + b
        return total
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out
