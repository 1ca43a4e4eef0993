"""Pack the Surrey Face Model for the product: ``python -m portraitcli.train.sfm [SFM_DIR] [OUT_DIR]``.

Reads ``sfm_shape_3448.bin``, ``expression_blendshapes_3448.bin`` and ``ibug_to_sfm.txt``
from the datasets' ``sfm/`` folder with eos-py (:func:`portraitcli.face.morphable.load_sfm`)
and writes ``sfm-3448.npz`` (about 3 MB: mean, 63 rescaled shape components, 6 expression
blendshapes, triangles, the ibug-68 landmark map) and its provenance ``sfm.json`` to
``weights/face/``, where :func:`portraitcli.face.morphable.shipped_sfm` reads it without eos.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from portraitcli.face.morphable import EXPRESSIONS, load_npz, load_sfm, save_npz

SOURCE = "Surrey Face Model sfm_shape_3448 + expression_blendshapes_3448 (eos repository, share/)"
LICENSE = (
    "Surrey Face Model: free for non-commercial use (P. Huber et al., 'A Multiresolution 3D Morphable Face "
    "Model and Fitting Framework', VISAPP 2016; cvssp.org/facemodel)"
)


def pack(sfm_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/sfm-3448.npz`` and ``out_dir/sfm.json``; return the npz path.

    The float32 copy is checked against the float64 original (``max_abs_diff``, model units).
    """
    model = load_sfm(sfm_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "sfm-3448.npz"
    save_npz(model, path)
    back = load_npz(path)
    diff = max(float(np.abs(getattr(back, k) - getattr(model, k)).max()) for k in ("mean", "basis", "blendshapes"))
    record = {
        "source": SOURCE,
        "license": LICENSE,
        "command": "python -m portraitcli.train.sfm ../shared/datasets/sfm weights/face",
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "vertices": int(len(model.mean)),
        "shape_components": int(model.basis.shape[2]),
        "expressions": list(EXPRESSIONS),
        "landmarks": int(len(model.landmark_ids)),
        "max_abs_diff": diff,
    }
    (out_dir / "sfm.json").write_text(json.dumps(record, indent=2) + "\n")
    return path


if __name__ == "__main__":
    args = sys.argv[1:]
    src = Path(args[0]) if args else Path("../shared/datasets/sfm")
    dst = Path(args[1]) if len(args) > 1 else Path("weights/face")
    print(pack(src, dst))
