"""The output plan: every path a command will write, decided and checked before the first write.

One set of rules for every image command, single file or batch:

1. In a batch every output lies under the output folder, after resolving links
   (``..`` roots, absolute patterns and symlinked folders included).
2. No output is, or would replace, an input of the same run: any input, not only its
   own, and the face-numbered outputs ``NAME_faceN.EXT`` of ``--faces all`` too.
3. Outputs are unique: two inputs that would map to one output are a usage error (exit 2)
   that lists the pair.
4. An existing output is replaced only with ``--overwrite`` (a batch skips it otherwise, a
   single file is refused), and ``--overwrite`` replaces only the files the plan owns: the
   planned name and its ``_faceN`` siblings, or the files a folder output writes.

Violations of 1-3 raise :class:`~portraitcli.errors.UsageError` before any model is loaded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from portraitcli.errors import UsageError
from portraitcli.io.discover import Job
from portraitcli.io.image import IMAGE_EXTENSIONS, check_distinct, output_format


def real(path: str | os.PathLike[str]) -> Path:
    """The absolute path with every symlink resolved (the path itself need not exist)."""
    return Path(os.path.realpath(path))


def face_outputs(base: Path, n: int, faces_all: bool) -> list[Path]:
    """Output paths of ``n`` faces: ``base`` itself, or ``STEM_face1.EXT`` ... with ``--faces all``."""
    if not faces_all:
        return [base]
    return [base.with_name(f"{base.stem}_face{i + 1}{base.suffix}") for i in range(n)]


def _face_pattern(base: Path) -> re.Pattern[str]:
    return re.compile(re.escape(base.stem) + r"_face\d+" + re.escape(base.suffix) + r"\Z", re.IGNORECASE)


def existing_outputs(base: Path, faces_all: bool, folders: bool = False) -> list[Path]:
    """The outputs of ``base`` that exist already: the file, its ``_faceN`` siblings, or a
    non-empty output folder."""
    if folders:
        return [base] if base.is_dir() and any(base.iterdir()) else []
    if not faces_all:
        return [base] if base.exists() else []
    if not base.parent.is_dir():
        return []
    pattern = _face_pattern(base)
    return sorted(p for p in base.parent.iterdir() if pattern.match(p.name))


@dataclass(frozen=True)
class Plan:
    """The checked outputs of one invocation.

    Attributes:
        jobs: one per input, in order; ``output`` is a file, the base of ``_faceN`` files,
            or a folder (``folders``).
        inputs: every input of the run, resolved: nothing may be written over one.
        overwrite: existing outputs the plan owns may be replaced.
        faces_all: each input may give several ``_faceN`` files.
        folders: each input's outputs are a folder.
        single: one input named on its own (errors are the command's, not a batch's).
    """

    jobs: list[Job]
    inputs: frozenset[Path] = field(repr=False)
    overwrite: bool = False
    faces_all: bool = False
    folders: bool = False
    single: bool = False

    def existing(self, job: Job) -> list[Path]:
        """The outputs of ``job`` already on disk."""
        return existing_outputs(job.output, self.faces_all, self.folders)

    def outputs(self, job: Job, n: int) -> list[Path]:
        """The files for ``n`` output images of ``job``, each checked with :meth:`guard`."""
        paths = face_outputs(job.output, n, self.faces_all)
        for p in paths:
            self.guard(p)
        return paths

    def guard(self, path: Path) -> None:
        """Last check before a write.

        Raises:
            UsageError: ``path`` is an input of this run.
        """
        if real(path) in self.inputs:
            raise UsageError(f"{path}: output path is an input of this run; refusing to overwrite an input")


def _check_faces_do_not_hit_inputs(jobs: list[Job], inputs: frozenset[Path]) -> None:
    by_folder: dict[Path, list[Path]] = {}
    for p in inputs:
        by_folder.setdefault(p.parent, []).append(p)
    for job in jobs:
        pattern = _face_pattern(job.output)
        for p in by_folder.get(real(job.output.parent), []):
            if pattern.match(p.name):
                raise UsageError(
                    f"{job.input}: its --faces all outputs {job.output.stem}_faceN{job.output.suffix} would replace "
                    f"the input {p}; choose another -o"
                )


def _check_jobs(jobs: list[Job], inputs: frozenset[Path], faces_all: bool) -> None:
    seen: dict[str, Job] = {}
    for job in jobs:
        key = str(real(job.output)).lower()
        if key in seen:
            other = seen[key]
            raise UsageError(
                f"{other.input} and {job.input} would both be written to {job.output}; "
                "rename one or run them separately"
            )
        seen[key] = job
        if real(job.output) in inputs:
            raise UsageError(
                f"{job.output}: the output of {job.input} would replace an input of this run; "
                "choose another -o (or --ext)"
            )
    if faces_all:
        _check_faces_do_not_hit_inputs(jobs, inputs)


def plan_batch(
    files: list[tuple[Path, Path]],
    out_dir: Path,
    *,
    ext: str | None = None,
    overwrite: bool = False,
    faces_all: bool = False,
    folders: bool = False,
) -> Plan:
    """Mirror the inputs' relative paths under ``out_dir`` and check the result.

    The output keeps the input's extension unless ``ext`` is given. When a forced
    extension makes two outputs collide (``a.jpg`` and ``a.png`` -> ``a.png``), every
    colliding output keeps its input extension in the name (``a.jpg.png``, ``a.png.png``).
    Folder outputs drop the extension (``out/a/b.jpg`` -> ``out/a/b``) unless two inputs
    differ only by it (``b_jpg``, ``b_png``).

    Args:
        files: (input file, relative path) pairs from :func:`~portraitcli.io.discover.discover`.
        out_dir: the ``-o`` folder.
        ext: forced output extension (``png`` or ``.png``), or None.
        overwrite / faces_all / folders: see :class:`Plan`.

    Raises:
        UsageError: ``ext`` is not an image extension; ``out_dir`` is an existing file; an
            output would lie outside ``out_dir``, replace an input, or collide with another.
    """
    if ext is not None:
        ext = ext if ext.startswith(".") else f".{ext}"
        if ext.lower() not in IMAGE_EXTENSIONS:
            raise UsageError(f"--ext {ext}: use one of {', '.join(sorted(IMAGE_EXTENSIONS))}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {out_dir}: is an existing file; several inputs need an output folder")
    targets = [rel.with_suffix(ext) if ext else rel for _, rel in files]
    counts: dict[str, int] = {}
    for t in targets:
        counts[str(t).lower()] = counts.get(str(t).lower(), 0) + 1
    jobs = []
    for (src, rel), t in zip(files, targets):
        if counts[str(t).lower()] > 1:
            t = rel.with_name(rel.name + ext) if ext else rel
        jobs.append(Job(src, rel, out_dir / t))
    if folders:
        jobs = _folder_jobs(jobs)
    root = real(out_dir)
    for job in jobs:
        if not real(job.output).is_relative_to(root):
            raise UsageError(f"{job.input}: its output {job.output} would lie outside -o {out_dir}")
    inputs = frozenset(real(src) for src, _ in files)
    _check_jobs(jobs, inputs, faces_all and not folders)
    return Plan(jobs, inputs, overwrite, faces_all, folders)


def _folder_jobs(jobs: list[Job]) -> list[Job]:
    targets = [j.output.with_suffix("") for j in jobs]
    counts: dict[str, int] = {}
    for t in targets:
        counts[str(t).lower()] = counts.get(str(t).lower(), 0) + 1
    return [
        Job(j.input, j.rel, t if counts[str(t).lower()] == 1 else t.with_name(j.output.name.replace(".", "_")))
        for j, t in zip(jobs, targets)
    ]


def single_output(src: Path, output: Path | None, task: str, folders: bool = False) -> Path:
    """Where one file's output goes: ``-o FILE``; ``-o DIR`` (an existing folder or a path
    without extension) gets the input's name; no ``-o`` gives ``./STEM_TASK.png``.
    For folder outputs: ``-o DIR`` itself, or ``./STEM_TASK/``.

    Raises:
        UsageError: the output extension is not an image format.
    """
    if folders:
        return output if output is not None else Path(f"{src.stem}_{task}")
    if output is None:
        return Path(f"{src.stem}_{task}.png")
    if output.is_dir() or not output.suffix:
        return output / src.name
    output_format(output)
    return output


def plan_single(
    src: Path, dst: Path, *, overwrite: bool = False, faces_all: bool = False, folders: bool = False
) -> Plan:
    """The plan of one input named on its own.

    Raises:
        UsageError: ``dst`` is the input; ``dst`` is a folder where a file is wanted (or
            the reverse); an output exists and ``overwrite`` is off; a ``_faceN`` output
            would replace the input.
    """
    check_distinct(src, dst)
    if folders and dst.exists() and not dst.is_dir():
        raise UsageError(f"-o {dst}: is an existing file; the outputs need a folder")
    if not folders and dst.is_dir():
        raise UsageError(f"-o {dst}: is a folder; name the output file")
    inputs = frozenset({real(src)})
    job = Job(src, Path(src.name), dst)
    _check_jobs([job], inputs, faces_all and not folders)
    plan = Plan([job], inputs, overwrite, faces_all, folders, single=True)
    existing = plan.existing(job)
    if existing and not overwrite:
        what = "is a folder with files in it" if folders else "exists"
        raise UsageError(f"{existing[0]} {what}; use --overwrite to replace it")
    return plan
