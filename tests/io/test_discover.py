from __future__ import annotations

from pathlib import Path

import pytest

from portraitcli.errors import BadInputError, UsageError
from portraitcli.io.discover import discover
from portraitcli.io.plan import plan_batch


def _touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_folder_sorted_and_mirrored(tmp_path: Path) -> None:
    for rel in ["b.jpg", "a.png", "sub/c.JPG", "sub/.hidden.jpg", ".git/d.png", "notes.txt"]:
        _touch(tmp_path / "in" / rel)
    flat = discover([str(tmp_path / "in")])
    assert [str(r) for _, r in flat] == ["a.png", "b.jpg"]
    deep = discover([str(tmp_path / "in")], recursive=True)
    assert [str(r) for _, r in deep] == ["a.png", "b.jpg", "sub/c.JPG"]
    jobs = plan_batch(deep, tmp_path / "out").jobs
    assert jobs[2].output == tmp_path / "out" / "sub" / "c.JPG"


def test_output_folder_inside_input_is_excluded(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a.jpg")
    _touch(tmp_path / "in" / "out" / "a.jpg")
    found = discover([str(tmp_path / "in")], recursive=True, exclude=tmp_path / "in" / "out")
    assert [str(r) for _, r in found] == ["a.jpg"]


def test_several_roots_get_prefixes(tmp_path: Path) -> None:
    _touch(tmp_path / "x" / "a.jpg")
    _touch(tmp_path / "y" / "a.jpg")
    found = discover([str(tmp_path / "x"), str(tmp_path / "y")])
    assert [str(r) for _, r in found] == ["x/a.jpg", "y/a.jpg"]


def test_duplicates_removed_and_missing_reported(tmp_path: Path) -> None:
    a = _touch(tmp_path / "a.jpg")
    assert len(discover([str(a), str(a)])) == 1
    with pytest.raises(BadInputError, match="no such file"):
        discover([str(tmp_path / "nope.jpg")])
    with pytest.raises(BadInputError, match="matches no image"):
        discover([str(tmp_path / "*.webp")])


def test_forced_extension_collisions(tmp_path: Path) -> None:
    files = [
        (tmp_path / "a.jpg", Path("a.jpg")),
        (tmp_path / "a.png", Path("a.png")),
        (tmp_path / "b.jpg", Path("b.jpg")),
    ]
    outs = [j.output.name for j in plan_batch(files, tmp_path / "o", ext="png").jobs]
    assert outs == ["a.jpg.png", "a.png.png", "b.png"]
    with pytest.raises(UsageError):
        plan_batch(files, tmp_path / "o", ext="gif")
