"""Image -> lane-state maps behind one interface, saved with their metadata.

`predict(images (N, H, W, 3) uint8) -> (N, 2)` [e_y m, e_psi rad] for both maps:

- `KernelMap`: Nadaraya-Watson kernel regression (the L4DC perception paper's method) on
  `features`: lane-marking whiteness and grass greenness of each pixel, averaged over
  4 x 4 blocks (two 16 x 16 maps for 64 x 64 images; the ratios cancel the brightness
  gain). Gaussian kernel exp(-||f - f_i||^2 / h); the bandwidth h is chosen on held-out
  data as a multiple of the median squared nearest-neighbour distance of the training set.
- `CnnMap`: a small convolutional network in torch (CPU), four stride-2 convolutions and
  two linear layers, trained with brightness and noise augmentation.

Both keep the training features for `ood_score`: distance to the nearest training feature
divided by the 99th percentile of the training set's own leave-one-out nearest-neighbour
distances (about 1 or less in distribution). A saved map (.npz) holds its weights and its
metadata (camera configuration, region, dataset seed, training settings); `load_map` with
a camera configuration raises ValueError naming every mismatching camera field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .dataset import Dataset, check_camera

BLOCK = 4  # px, feature averaging block
OOD_QUANTILE = 0.99


def features(images: np.ndarray) -> np.ndarray:
    """(N, 2 * (H / 4) * (W / 4)) float32 features of images (N, H, W, 3) uint8."""
    x = _check_images(images).astype(np.float32)
    n, h, w, _ = x.shape
    hi, lo = x.max(axis=-1), x.min(axis=-1)
    white = lo / (hi.mean(axis=(1, 2), keepdims=True) + 1.0)  # bright and unsaturated
    green = (x[..., 1] - x[..., 0]) / (hi + 1.0)
    hb, wb = h // BLOCK, w // BLOCK
    out = [
        g[:, : hb * BLOCK, : wb * BLOCK].reshape(n, hb, BLOCK, wb, BLOCK).mean(axis=(2, 4))
        for g in (white, green)
    ]
    return np.concatenate([o.reshape(n, -1) for o in out], axis=1)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images: expected (N, H, W, 3) uint8, got {images.shape} {images.dtype}")
    return images


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


class PerceptionMap:
    """Common part: image size check, OOD score, save/load, metadata."""

    KIND = ""

    def __init__(self, reference: np.ndarray, ood_scale: float, metadata: dict) -> None:
        self.reference = np.asarray(reference, dtype=np.float32)  # training features
        self.ood_scale = float(ood_scale)
        self.metadata = metadata

    @property
    def error_bound(self) -> dict | None:
        """The calibrated bound {"eps": [m, rad], "slope": [m, rad], "region": {...}} or
        None (see `calibration.attach`)."""
        return self.metadata.get("error_bound")

    @property
    def image_shape(self) -> tuple[int, int]:
        cam = self.metadata["camera"]
        return cam["camera_height"], cam["camera_width"]

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, 2) [e_y m, e_psi rad] for images (N, H, W, 3) uint8."""
        images = self._sized(images)
        return self._predict(images)

    def ood_score(self, images: np.ndarray) -> np.ndarray:
        """(N,) distance to the nearest training feature / in-distribution scale."""
        f = features(self._sized(images))
        return np.sqrt(_sq_dist(f, self.reference).min(axis=1)) / self.ood_scale

    def _sized(self, images) -> np.ndarray:
        images = _check_images(images)
        if images.shape[1:3] != self.image_shape:
            raise ValueError(
                f"images: expected {self.image_shape[0]}x{self.image_shape[1]} (HxW), "
                f"got {images.shape[1]}x{images.shape[2]}"
            )
        return images

    def _predict(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the map and its metadata to one .npz file."""
        path = Path(path)
        meta = dict(self.metadata, kind=self.KIND, ood_scale=self.ood_scale)
        np.savez_compressed(
            path, metadata=json.dumps(meta), reference=self.reference, **self._arrays()
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _ood_scale(reference: np.ndarray) -> float:
    d2 = _sq_dist(reference, reference)
    np.fill_diagonal(d2, np.inf)
    return float(np.quantile(np.sqrt(d2.min(axis=1)), OOD_QUANTILE))


def _base_metadata(train: Dataset, **training) -> dict:
    return {
        "camera": train.metadata["camera"],
        "region": train.metadata["region"],
        "dataset": {k: v for k, v in train.metadata.items() if k != "camera"},
        "train_size": len(train),
        "training": training,
    }


# --------------------------------------------------------------------------- kernel map


class KernelMap(PerceptionMap):
    """Nadaraya-Watson regression y(f) = sum_i K(f, f_i) x_i / sum_i K(f, f_i)."""

    KIND = "kernel"

    def __init__(self, reference, states, bandwidth, ood_scale, metadata) -> None:
        super().__init__(reference, ood_scale, metadata)
        self.states = np.asarray(states, dtype=float)
        self.bandwidth = float(bandwidth)

    @classmethod
    def fit(
        cls,
        train: Dataset,
        validation: Dataset,
        multiples=(0.125, 0.25, 0.5, 1.0, 2.0, 4.0),
        progress: bool = True,
    ) -> KernelMap:
        """Keep the training set; pick the bandwidth with the least scaled mean squared
        error on `validation` (errors divided by the region half-widths)."""
        start = time.perf_counter()
        ref = features(train.images)
        d2 = _sq_dist(ref, ref)
        np.fill_diagonal(d2, np.inf)
        unit = float(np.median(d2.min(axis=1)))
        val = features(validation.images)
        half = np.array(
            [train.metadata["region"]["e_y_max"], train.metadata["region"]["e_psi_max"]]
        )
        scores = []
        dv = _sq_dist(val, ref)
        for k in tqdm(multiples, desc="bandwidth", disable=not progress, leave=False):
            pred = _nadaraya_watson(dv, train.states, k * unit)
            scores.append(float(np.mean(((pred - validation.states) / half) ** 2)))
        best = multiples[int(np.argmin(scores))]
        meta = _base_metadata(
            train,
            bandwidth_multiple=best,
            validation_scores=dict(zip(map(str, multiples), scores, strict=True)),
            seconds=time.perf_counter() - start,
        )
        return cls(ref, train.states, best * unit, _ood_scale(ref), meta)

    def _predict(self, images: np.ndarray) -> np.ndarray:
        return _nadaraya_watson(
            _sq_dist(features(images), self.reference), self.states, self.bandwidth
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"states": self.states, "bandwidth": np.array(self.bandwidth)}


def _nadaraya_watson(d2: np.ndarray, states: np.ndarray, bandwidth: float) -> np.ndarray:
    w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / bandwidth)  # shift: no underflow
    return (w @ states) / w.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------ CNN map


def _network(height: int, width: int):
    import torch.nn as nn

    def conv(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]

    flat = 32 * (-(-height // 16)) * (-(-width // 16))
    return nn.Sequential(
        *conv(3, 8),
        *conv(8, 16),
        *conv(16, 32),
        *conv(32, 32),
        nn.Flatten(),
        nn.Linear(flat, 64),
        nn.ReLU(),
        nn.Linear(64, 2),
    )


def _to_tensor(images: np.ndarray):
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


class CnnMap(PerceptionMap):
    """A small CNN; outputs are scaled by the region half-widths."""

    KIND = "cnn"

    def __init__(self, net, reference, ood_scale, metadata) -> None:
        super().__init__(reference, ood_scale, metadata)
        self.net = net.eval()
        r = metadata["region"]
        self.half = np.array([r["e_y_max"], r["e_psi_max"]])

    @classmethod
    def fit(
        cls,
        train: Dataset,
        epochs: int = 40,
        batch: int = 64,
        lr: float = 3e-3,
        seed: int = 0,
        progress: bool = True,
    ) -> CnnMap:
        """Adam on the scaled squared error, cosine learning-rate decay; each batch gets a
        random brightness gain in [0.85, 1.15] and Gaussian noise of 3 levels."""
        import torch

        start = time.perf_counter()
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        h, w = train.images.shape[1:3]
        net = _network(h, w)
        r = train.metadata["region"]
        half = np.array([r["e_y_max"], r["e_psi_max"]])
        x_all = _to_tensor(train.images)
        y_all = torch.from_numpy(train.states / half).float()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        steps = epochs * -(-len(train) // batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        losses = []
        for _ in tqdm(range(epochs), desc="train cnn", disable=not progress, leave=False):
            order = torch.from_numpy(rng.permutation(len(train)))
            total = 0.0
            for i in range(0, len(train), batch):
                idx = order[i : i + batch]
                gain = torch.from_numpy(rng.uniform(0.85, 1.15, (len(idx), 1, 1, 1))).float()
                x = (x_all[idx] + 1.0) * gain - 1.0 + 0.024 * torch.randn_like(x_all[idx])
                loss = torch.mean((net(x) - y_all[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            losses.append(total / len(train))
        ref = features(train.images)
        meta = _base_metadata(
            train,
            epochs=epochs,
            batch=batch,
            lr=lr,
            seed=seed,
            final_loss=losses[-1],
            seconds=time.perf_counter() - start,
        )
        return cls(net, ref, _ood_scale(ref), meta)

    def _predict(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.net(_to_tensor(images)).numpy().astype(float)
        return out * self.half

    def _arrays(self) -> dict[str, np.ndarray]:
        return {f"w/{k}": v.detach().numpy() for k, v in self.net.state_dict().items()}


def load_map(path: str | Path, camera=None) -> PerceptionMap:
    """A saved map; with `camera` (SimConfig or camera metadata dict), ValueError unless the
    map was trained for the same camera geometry (every mismatching field is named)."""
    path = Path(path)
    try:
        data = np.load(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read a perception map ({err})") from err
    with data:
        meta = json.loads(str(data["metadata"]))
        kind = meta.pop("kind", None)
        ood_scale = meta.pop("ood_scale")
        reference = data["reference"]
        if kind == KernelMap.KIND:
            result: PerceptionMap = KernelMap(
                reference, data["states"], float(data["bandwidth"]), ood_scale, meta
            )
        elif kind == CnnMap.KIND:
            import torch

            cam = meta["camera"]
            net = _network(cam["camera_height"], cam["camera_width"])
            weights = {k[2:]: torch.from_numpy(data[k]) for k in data.files if k.startswith("w/")}
            net.load_state_dict(weights)
            result = CnnMap(net, reference, ood_scale, meta)
        else:
            raise ValueError(f"{path}: unknown map kind {kind!r}; expected 'kernel' or 'cnn'")
    if camera is not None:
        check_camera(result.metadata["camera"], camera)
    return result
