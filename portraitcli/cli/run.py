"""Glue between an image command's options and the batch runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portraitcli.batch import Loaded, RunOptions
from portraitcli.cli.batch import run_batch
from portraitcli.face.pipeline import PipelineOptions
from portraitcli.models.base import load_model
from portraitcli.types import Template

#: The largest face crop a fully convolutional model runs at (``--size`` beyond it enlarges).
MAX_CROP_WIDTH = 1024


def crop_template(template: Template, width: int | None, fully_convolutional: bool) -> Template:
    """The framing a face is cropped at for an output ``width`` px wide.

    A fully convolutional model (manifest ``input.fully_convolutional``) asked for a wider
    output than its crop runs on a larger crop of the same framing (sides multiples of 16,
    at most :data:`MAX_CROP_WIDTH` wide): the detail is drawn, not interpolated. Any other
    model keeps its crop, and the pipeline resizes the output.
    """
    tw, th = template.size
    if not fully_convolutional or width is None or width <= tw:
        return template
    w = min(MAX_CROP_WIDTH, round(width / 16) * 16)
    return template.scaled(w, round(w * th / tw / 16) * 16)


def load_task(
    task: str,
    device: str,
    threads: int,
    need_detector: bool,
    model_kwargs: dict[str, Any] | None = None,
    crop_width: int | None = None,
    detector_name: str = "mtcnn",
    model_name: str | None = None,
) -> Loaded:
    """Build the :class:`Loaded` runner for the shipped model ``model_name`` of ``task``
    (``--model``; default: the newest).

    ``model_kwargs`` (e.g. ``{"style": 2}`` for draw) are passed to every ``model.run`` call;
    whole-photo tiles run without the sketch model's per-face exposure matching.
    ``crop_width``: the output width asked for with ``--size`` (see :func:`crop_template`).
    ``detector_name``: ``--detector`` (:func:`portraitcli.face.mtcnn.make_detector`).
    """
    import functools

    model = load_model(task, device, threads, model_name)
    template = model.spec.template
    if template is not None:
        fully_convolutional = bool(model.spec.entry.get("input", {}).get("fully_convolutional"))
        template = crop_template(template, crop_width, fully_convolutional)
    detector = None
    if need_detector:
        from portraitcli.face.mtcnn import make_detector

        detector = make_detector(detector_name)
    kwargs = model_kwargs or {}
    tile_kwargs = {**kwargs, "match_exposure": False} if "match_exposure" in kwargs else kwargs
    return Loaded(
        functools.partial(model.run, **kwargs),
        template,
        detector,
        run_tile=functools.partial(model.run, **tile_kwargs),
        model=model.spec.name,
    )


def run_image_command(
    task: str,
    inputs: list[str],
    output: Path | None,
    *,
    recursive: bool,
    overwrite: bool,
    faces: str,
    aligned: bool,
    on_no_face: str,
    paste_back: bool,
    size: int | None,
    ext: str | None,
    device: str,
    threads: int,
    json_lines: bool,
    default_size: int | None,
    workers: int = 0,
    backend: str = "local",
    address: str | None = None,
    whole: bool = False,
    rotate: bool = True,
    detector: str = "mtcnn",
    model_kwargs: dict[str, Any] | None = None,
    model_name: str | None = None,
) -> None:
    """Validate the options, then run the task's model (``model_name``, default the newest) over the inputs."""
    from portraitcli.runtime.session import check_device
    from portraitcli.runtime.weights import model_of_task

    check_device(device)
    if model_name is not None:
        model_of_task(task, model_name)  # a wrong name fails before any file is read or written
    pipeline = PipelineOptions(
        faces=faces,
        aligned=aligned,
        on_no_face=on_no_face,
        paste_back=paste_back,
        size=size if (size is not None or aligned) else default_size,
        whole=whole,
        rotate=rotate,
    )
    opts = RunOptions(pipeline, recursive, overwrite, ext, device, threads, workers, backend, address)
    run_batch(
        task,
        inputs,
        output,
        opts,
        lambda n_threads: load_task(
            task,
            device,
            n_threads,
            not (aligned or whole),
            model_kwargs,
            None if aligned or whole else size,
            detector,
            model_name,
        ),
        json_lines=json_lines,
    )
