"""Image -> lane-state maps behind one interface, saved with their metadata.

`predict(images (N, H, W, 3) uint8, preview=None) -> (N, 2)` [e_y m, e_psi rad] for both
maps. A map fitted with the track preview (`dataset.preview`: heading change of the track
over the next metres, from the car's arc length and its map of the track) needs `preview`
(N, len(PREVIEW)) rad for every image; an image-only map ignores it. The preview resolves
what images cannot (see `dataset`): before a curve entry or exit the image of a pose
equals that of a pose on the other segment with another heading error, so an image-only
map's worst-case e_psi error inside R stays near min(0.29 rad, e_psi range of R) / 2.

- `KernelMap`: Nadaraya-Watson kernel regression (the L4DC perception paper's method) on
  `features`: lane-marking whiteness and grass greenness of each pixel, averaged over
  4 x 4 blocks (two 16 x 16 maps for 64 x 64 images; the ratios cancel the brightness
  gain), with the preview appended times a weight. Gaussian kernel exp(-||f - f_i||^2 / h);
  the weight and the bandwidth h (a multiple of the median squared nearest-neighbour
  distance of the training set) are chosen on held-out data for the least 99th percentile
  of the scaled error (errors divided by the region half-widths).
- `CnnMap`: a small convolutional network in torch (CPU): pixel-coordinate channels, four
  3 x 3 convolutions ("small": 8-16-32-32 channels, all stride 2; "large": 16-32-32-32,
  strides 2-2-1-2, an 8 x 8 map), a linear layer, the preview appended, two linear layers.
  Trained with Adam on the squared error scaled by the region half-widths (one-cycle
  learning rate), with the world's randomisation as augmentation (brightness gain in
  [0.9, 1.1], Gaussian pixel noise of 2 levels).

Both keep training features for `ood_score`: distance to the nearest training feature
divided by the 99th percentile of the reference set's own leave-one-out nearest-neighbour
distances (about 1 or less in distribution; the CNN keeps a random subset of at most
`REFERENCE_SIZE` training images). A saved map (.npz) holds its weights and its metadata
(camera configuration, region, preview distances, dataset seed, training settings);
`load_map` with a camera configuration raises ValueError naming every mismatching camera
field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .dataset import PREVIEW, Dataset, check_camera

BLOCK = 4  # px, feature averaging block
OOD_QUANTILE = 0.99
REFERENCE_SIZE = 3000  # training images a CNN map keeps for its OOD score
QUANTILE = 0.99  # model selection: this quantile of the scaled validation error
#: CNN architectures: 3 x 3 convolution channels and strides, then a linear layer of
#: `hidden` units (the preview joins its output), then 64 units and the 2 outputs.
NETWORKS = {
    "small": {"channels": [8, 16, 32, 32], "strides": [2, 2, 2, 2], "hidden": 64},
    "large": {"channels": [16, 32, 32, 32], "strides": [2, 2, 1, 2], "hidden": 128},
}
GAIN = 0.1  # brightness augmentation: gain uniform in [1 - GAIN, 1 + GAIN]
NOISE = 2.0  # pixel noise augmentation, 8-bit levels
NOISE_FRAMES = 512  # noise frames drawn once per training


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


def _nearest_sq(a: np.ndarray, b: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    """(len(a),) squared distance of each row of a to its nearest row of b, in chunks; with
    exclude_self (a is b), a row's own zero distance is left out."""
    out = np.empty(len(a))
    for i in range(0, len(a), 1000):
        d2 = _sq_dist(a[i : i + 1000], b)
        if exclude_self:
            d2[np.arange(len(d2)), np.arange(i, i + len(d2))] = np.inf
        out[i : i + 1000] = d2.min(axis=1)
    return out


def _training_preview(train: Dataset, preview: bool) -> np.ndarray | None:
    if not preview:
        return None
    if train.preview is None:
        raise ValueError("train: expected a dataset with track previews, got none")
    return np.asarray(train.preview, dtype=np.float32)


class PerceptionMap:
    """Common part: image size and preview checks, OOD score, save/load, metadata."""

    KIND = ""
    REFERENCE_DTYPE = np.float32  # of the training features in a saved map

    def __init__(self, reference: np.ndarray, ood_scale: float, metadata: dict) -> None:
        # training features, as saved
        self.reference = np.asarray(reference).astype(self.REFERENCE_DTYPE).astype(np.float32)
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

    @property
    def uses_preview(self) -> bool:
        """True if `predict` needs the track preview of each image."""
        return self.metadata.get("preview") is not None

    def predict(self, images: np.ndarray, preview: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) [e_y m, e_psi rad] for images (N, H, W, 3) uint8 and, for a map that uses
        it, their track previews (N, len(PREVIEW)) rad (`dataset.preview(track, s)`)."""
        images = self._sized(images)
        return self._predict(images, self._preview(preview, len(images)))

    def ood_score(self, images: np.ndarray) -> np.ndarray:
        """(N,) distance to the nearest training feature / in-distribution scale."""
        f = features(self._sized(images))
        return np.sqrt(_nearest_sq(f, self.reference)) / self.ood_scale

    def _sized(self, images) -> np.ndarray:
        images = _check_images(images)
        if images.shape[1:3] != self.image_shape:
            raise ValueError(
                f"images: expected {self.image_shape[0]}x{self.image_shape[1]} (HxW), "
                f"got {images.shape[1]}x{images.shape[2]}"
            )
        return images

    def _preview(self, preview, count: int) -> np.ndarray | None:
        if not self.uses_preview:
            return None
        if preview is None:
            raise ValueError(
                "preview: this map needs the track preview of each image "
                "(dataset.preview(track, s)), got None"
            )
        preview = np.asarray(preview, dtype=float)
        if preview.ndim == 1:
            preview = preview[None]
        if preview.shape != (count, len(PREVIEW)) or not np.all(np.isfinite(preview)):
            raise ValueError(
                f"preview: expected ({count}, {len(PREVIEW)}) finite values, got {preview.shape}"
            )
        return preview

    def _predict(self, images: np.ndarray, preview: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the map and its metadata to one .npz file."""
        path = Path(path)
        meta = dict(self.metadata, kind=self.KIND, ood_scale=self.ood_scale)
        reference = self.reference.astype(self.REFERENCE_DTYPE)
        np.savez_compressed(path, metadata=json.dumps(meta), reference=reference, **self._arrays())
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _ood_scale(reference: np.ndarray) -> float:
    nearest = np.sqrt(_nearest_sq(reference, reference, exclude_self=True))
    return float(np.quantile(nearest, OOD_QUANTILE))


def _base_metadata(train: Dataset, preview: bool, **training) -> dict:
    return {
        "camera": train.metadata["camera"],
        "region": train.metadata["region"],
        "preview": list(PREVIEW) if preview else None,
        "dataset": {k: v for k, v in train.metadata.items() if k not in ("camera", "parts")},
        "train_size": len(train),
        "training": training,
    }


def _half_widths(metadata: dict) -> np.ndarray:
    r = metadata["region"]
    return np.array([r["e_y_max"], r["e_psi_max"]])


def _scaled_quantile(pred: np.ndarray, data: Dataset, half: np.ndarray) -> float:
    """QUANTILE of max_i |error_i| / half_i over the samples of `data` inside R (all if
    fewer than 10 are)."""
    scaled = np.abs(pred - data.states) / half
    inside = np.all(np.abs(data.states) <= half, axis=1)
    return float(np.quantile(scaled[inside] if inside.sum() >= 10 else scaled, QUANTILE))


# --------------------------------------------------------------------------- kernel map


class KernelMap(PerceptionMap):
    """Nadaraya-Watson regression y(f) = sum_i K(f, f_i) x_i / sum_i K(f, f_i); with the
    preview, f = [image features, weight x preview]."""

    KIND = "kernel"

    def __init__(
        self, reference, states, bandwidth, ood_scale, metadata, previews=None, weight=0.0
    ) -> None:
        super().__init__(reference, ood_scale, metadata)
        self.states = np.asarray(states, dtype=float)
        self.bandwidth = float(bandwidth)
        self.previews = None if previews is None else np.asarray(previews, dtype=np.float32)
        self.weight = float(weight)

    @classmethod
    def fit(
        cls,
        train: Dataset,
        validation: Dataset,
        multiples=(0.25, 0.5, 1.0, 2.0, 4.0),
        progress: bool = True,
        preview: bool = False,
        weights=(3.0, 10.0, 30.0),
    ) -> KernelMap:
        """Keep the training set; pick the bandwidth multiple (and with the preview its
        weight) with the least 99th percentile of the scaled error on `validation`."""
        start = time.perf_counter()
        ref = features(train.images)
        half = _half_widths(train.metadata)
        val = features(validation.images)
        previews = _training_preview(train, preview)
        val_previews = _training_preview(validation, preview)
        d_image = _sq_dist(val, ref)
        d_preview = None if previews is None else _sq_dist(val_previews, previews)
        sub = np.random.default_rng(0).permutation(len(ref))[:3000]
        scores, best = {}, (np.inf, 1.0, 0.0, 1.0)
        for w in tqdm(weights if preview else [0.0], disable=not progress, leave=False):
            if d_preview is None:
                dv, unit = d_image, _unit(ref, sub)
            else:
                dv = d_image + np.float32(w * w) * d_preview
                unit = _unit(np.hstack([ref, w * previews]), sub)
            for m in multiples:
                pred = _nadaraya_watson(dv, train.states, m * unit)
                score = _scaled_quantile(pred, validation, half)
                scores[f"{m}" if d_preview is None else f"{m}@{w}"] = score
                if score < best[0]:
                    best = (score, m, w, unit)
        _, multiple, weight, unit = best
        meta = _base_metadata(
            train,
            preview,
            bandwidth_multiple=multiple,
            preview_weight=weight if preview else None,
            validation_scores=scores,
            seconds=time.perf_counter() - start,
        )
        return cls(ref, train.states, multiple * unit, _ood_scale(ref), meta, previews, weight)

    def _predict(self, images: np.ndarray, preview: np.ndarray | None) -> np.ndarray:
        f = features(images)
        out = np.empty((len(f), 2))
        for i in range(0, len(f), 1000):
            d2 = _sq_dist(f[i : i + 1000], self.reference)
            if preview is not None:
                d2 += self.weight**2 * _sq_dist(preview[i : i + 1000], self.previews)
            out[i : i + 1000] = _nadaraya_watson(d2, self.states, self.bandwidth)
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        out = {"states": self.states, "bandwidth": np.array(self.bandwidth)}
        if self.previews is not None:
            out |= {"previews": self.previews, "weight": np.array(self.weight)}
        return out


def _unit(points: np.ndarray, sub: np.ndarray) -> float:
    """Median squared nearest-neighbour distance of the rows `sub` of points to the rest."""
    d2 = _sq_dist(points[sub], points)
    d2[np.arange(len(sub)), sub] = np.inf
    return float(np.median(d2.min(axis=1)))


def _nadaraya_watson(d2: np.ndarray, states: np.ndarray, bandwidth: float) -> np.ndarray:
    w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / bandwidth)  # shift: no underflow
    return (w @ states) / w.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------ CNN map


def _network(height: int, width: int, spec: dict, n_preview: int):
    """The CNN of `spec` (see NETWORKS) for images height x width and n_preview inputs."""
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c_out, stride = spec["channels"][0], spec["strides"][0]
            # first convolution over [RGB, coordinates], split: the coordinate part is the
            # same for every image
            self.rgb = nn.Conv2d(3, c_out, 3, stride=stride, padding=1)
            self.xy = nn.Conv2d(2, c_out, 3, stride=stride, padding=1, bias=False)
            c_in, h, w = c_out, -(-height // stride), -(-width // stride)
            layers = []
            for c_out, stride in zip(spec["channels"][1:], spec["strides"][1:], strict=True):
                layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU()]
                c_in, h, w = c_out, -(-h // stride), -(-w // stride)
            self.trunk = nn.Sequential(*layers, nn.Flatten())
            self.embed = nn.Sequential(nn.Linear(c_in * h * w, spec["hidden"]), nn.ReLU())
            self.head = nn.Sequential(
                nn.Linear(spec["hidden"] + n_preview, 64), nn.ReLU(), nn.Linear(64, 2)
            )
            rows, cols = torch.meshgrid(
                torch.linspace(-1.0, 1.0, height), torch.linspace(-1.0, 1.0, width), indexing="ij"
            )
            self.register_buffer("coords", torch.stack([cols, rows])[None], persistent=False)

        def forward(self, x, preview=None):
            h = torch.relu(self.rgb(x) + self.xy(self.coords))
            h = self.embed(self.trunk(h))
            return self.head(h if preview is None else torch.cat([h, preview], dim=1))

    return Net().to(memory_format=torch.channels_last)


def _to_tensor(images: np.ndarray):
    """(N, 3, H, W) float tensor in [-1, 1], channels-last in memory like the images."""
    import torch

    x = torch.from_numpy(np.array(images, order="C")).permute(0, 3, 1, 2).float()  # a copy
    return x / 127.5 - 1.0


class CnnMap(PerceptionMap):
    """A small CNN; outputs are scaled by the region half-widths."""

    KIND = "cnn"
    REFERENCE_DTYPE = np.float16  # only for the OOD score: half the file

    def __init__(self, net, reference, ood_scale, metadata) -> None:
        super().__init__(reference, ood_scale, metadata)
        self.net = net.eval()
        self.half = _half_widths(metadata)

    @classmethod
    def fit(
        cls,
        train: Dataset,
        epochs: int = 30,
        batch: int = 64,
        lr: float = 3e-3,
        seed: int = 0,
        progress: bool = True,
        preview: bool = False,
        network: str = "small",
        reference_size: int = REFERENCE_SIZE,
    ) -> CnnMap:
        """Adam on the scaled squared error with a one-cycle learning rate (peak `lr`);
        each batch gets a random brightness gain and Gaussian pixel noise (see module)."""
        import torch

        if network not in NETWORKS:
            raise ValueError(f"network: expected one of {sorted(NETWORKS)}, got {network!r}")
        start = time.perf_counter()
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        h, w = train.images.shape[1:3]
        previews = _training_preview(train, preview)
        net = _network(h, w, NETWORKS[network], 0 if previews is None else len(PREVIEW))
        images = torch.from_numpy(np.ascontiguousarray(train.images)).permute(0, 3, 1, 2)
        targets = torch.from_numpy(train.states / _half_widths(train.metadata)).float()
        p_all = None if previews is None else torch.from_numpy(previews).float()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        steps = epochs * -(-len(train) // batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
        # pixel noise: frames drawn once, a random one added to each image (a fresh normal
        # draw per batch costs more than the network's step)
        noise = NOISE * torch.randn(NOISE_FRAMES, h, w, 3).permute(0, 3, 1, 2)
        losses = []
        net.train()
        for _ in tqdm(range(epochs), desc="train cnn", disable=not progress, leave=False):
            order = torch.from_numpy(rng.permutation(len(train)))
            total = 0.0
            for i in range(0, len(train), batch):
                idx = order[i : i + batch]
                gain = rng.uniform(1.0 - GAIN, 1.0 + GAIN, (len(idx), 1, 1, 1))
                x = images[idx].float() * torch.from_numpy(gain).float()
                x = x + noise[torch.from_numpy(rng.integers(0, NOISE_FRAMES, len(idx)))]
                x = x.clamp(0.0, 255.0) / 127.5 - 1.0
                out = net(x, None if p_all is None else p_all[idx])
                loss = torch.mean((out - targets[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            losses.append(total / len(train))
        keep = np.sort(rng.permutation(len(train))[:reference_size])
        ref = features(train.images[keep]).astype(cls.REFERENCE_DTYPE).astype(np.float32)
        meta = _base_metadata(
            train,
            preview,
            network=dict(NETWORKS[network], name=network),
            epochs=epochs,
            batch=batch,
            lr=lr,
            seed=seed,
            final_loss=losses[-1],
            seconds=time.perf_counter() - start,
        )
        return cls(net, ref, _ood_scale(ref), meta)

    def _predict(self, images: np.ndarray, preview: np.ndarray | None) -> np.ndarray:
        import torch

        with torch.inference_mode():
            p = None if preview is None else torch.from_numpy(preview).float()
            out = self.net(_to_tensor(images), p).numpy().astype(float)
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
        distances = meta.get("preview")
        if distances is not None and not np.allclose(distances, PREVIEW):
            raise ValueError(
                f"{path}: map uses the track preview at {distances} m, this code at {PREVIEW} m"
            )
        if kind == KernelMap.KIND:
            previews = data["previews"] if "previews" in data.files else None
            weight = float(data["weight"]) if "weight" in data.files else 0.0
            result: PerceptionMap = KernelMap(
                reference,
                data["states"],
                float(data["bandwidth"]),
                ood_scale,
                meta,
                previews,
                weight,
            )
        elif kind == CnnMap.KIND:
            import torch

            cam = meta["camera"]
            n_preview = 0 if distances is None else len(PREVIEW)
            spec = meta["training"]["network"]
            net = _network(cam["camera_height"], cam["camera_width"], spec, n_preview)
            weights = {k[2:]: torch.from_numpy(data[k]) for k in data.files if k.startswith("w/")}
            net.load_state_dict(weights)
            result = CnnMap(net, reference, ood_scale, meta)
        else:
            raise ValueError(f"{path}: unknown map kind {kind!r}; expected 'kernel' or 'cnn'")
    if camera is not None:
        check_camera(result.metadata["camera"], camera)
    return result
