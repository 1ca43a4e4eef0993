"""Textured triangle meshes to OBJ (+ MTL + PNG) and GLB, through trimesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from portraitcli.errors import UsageError
from portraitcli.io.image import write_bytes_atomic

#: Files written by :func:`write_textured_mesh` into its folder (with the default ``stem``).
MESH_FILES = ("mesh.obj", "mesh.mtl", "texture.png", "mesh.glb")


def mesh_files(stem: str = "mesh") -> tuple[str, str, str, str]:
    """The OBJ, MTL, texture and GLB names :func:`write_textured_mesh` writes for ``stem``."""
    if stem == "mesh":
        return MESH_FILES
    return (f"{stem}.obj", f"{stem}.mtl", f"{stem}-texture.png", f"{stem}.glb")


def write_textured_mesh(
    folder: Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, texture: np.ndarray, stem: str = "mesh"
) -> list[Path]:
    """Write ``mesh.obj`` / ``mesh.mtl`` / ``texture.png`` and ``mesh.glb`` into ``folder``
    (other names for another ``stem``: :func:`mesh_files`).

    Args:
        vertices: (V, 3) float positions (y up).
        faces: (F, 3) int vertex indices, counter-clockwise seen from outside.
        uv: (V, 2) float texture coordinates in [0, 1], v up.
        texture: (H, W, 3) uint8 RGB.

    Returns:
        The paths written, in :func:`mesh_files` order.

    Raises:
        UsageError: inconsistent shapes. BadInputError: the folder cannot be written.
    """
    import trimesh
    from PIL import Image

    if vertices.ndim != 2 or vertices.shape[1] != 3 or uv.shape != (len(vertices), 2):
        raise UsageError(f"mesh arrays do not fit: vertices {vertices.shape}, uv {uv.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise UsageError("mesh faces index outside the vertices")
    image = Image.fromarray(np.asarray(texture, np.uint8))
    mesh = trimesh.Trimesh(vertices, faces, visual=trimesh.visual.TextureVisuals(uv=uv, image=image), process=False)
    names = mesh_files(stem)
    obj_text, extras = trimesh.exchange.obj.export_obj(mesh, return_texture=True, mtl_name=names[1])
    # name the texture (trimesh calls it material_0.png) in the MTL and on disk
    (tex_name,) = [k for k in extras if k.endswith(".png")]
    mtl = extras[names[1]].decode().replace(tex_name, names[2])
    data = [obj_text.encode(), mtl.encode(), extras[tex_name], trimesh.exchange.gltf.export_glb(mesh)]
    return [write_bytes_atomic(folder / name, blob) for name, blob in zip(names, data)]
