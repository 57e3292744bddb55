"""Benchmarks of the streaming data engine (numbers + JSON; not timed tests):

    python -m edgekit.bench.data_engine memory --images 2000 20000 [--json out.json]
    python -m edgekit.bench.data_engine speed --images 1000 [--json out.json]

``memory``: an ImageFolder of N real-photo JPEG variants at 224x224 (random crops / flips of the
scikit-image photographs and foolbox's ImageNet samples) is written to a temporary folder; a child process
then runs every data-engine split as a build does — one epoch of a tiny model over the augmented training
split through DataLoader workers, evaluation over val, the calibration array and the golden draw — while
the parent samples the summed PSS of the child and all its descendants (``/proc/PID/smaps_rollup``) every
50 ms. Peak summed PSS is the figure (shared pages counted once, proportionally). ``--whole-build`` runs
``edgekit build`` of a project over the folder instead (every stage; the kept folder's stage cache is
cleared first). The JSON also gives the peaks by role (``main``; ``workers``: forked DataLoader workers;
``other``: e.g. the C++ parity runner), the peak of anon+shmem PSS (what the build allocates: the PSS of
file-backed library pages also depends on other processes mapping them on a shared host), the peak of
each phase (a phase ends with a build stage's line), the per-process rows at the peak and a timeline.

``speed``: teacher-training images/s of ``edgekit.train.loop.fit`` against a plain PyTorch loop (a torch
DataLoader over a Dataset calling the same per-item decode + preprocess function, same model, optimizer,
batch size, workers and files), alternated A/B/A/B in one run; the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZE = 224


# -- a real-photo ImageFolder ----------------------------------------------------------------------
def _photos() -> list[np.ndarray]:
    import importlib.util

    import cv2
    import skimage.data as d

    out = []
    for name in ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "motorcycle_left",
                 "hubble_deep_field", "camera", "coins", "moon", "page", "text", "horse", "brick", "grass",
                 "gravel", "colorwheel", "logo", "retina"):  # all on disk in the wheel
        try:
            a = np.asarray(getattr(d, name)())
        except Exception:  # noqa: BLE001 - a photo that is not on disk offline
            continue
        if a.dtype != np.uint8:
            a = (a > 0).astype(np.uint8) * 255 if a.dtype == bool else np.clip(a, 0, 255).astype(np.uint8)
        code = cv2.COLOR_GRAY2BGR if a.ndim == 2 else cv2.COLOR_RGB2BGR
        a = cv2.cvtColor(np.ascontiguousarray(a if a.ndim == 2 else a[..., :3]), code)
        out.append(a)
    spec = importlib.util.find_spec("foolbox")
    if spec is not None and spec.submodule_search_locations:
        fdir = Path(list(spec.submodule_search_locations)[0]) / "data"
        for p in sorted(fdir.glob("imagenet_*.jpg")):
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is not None:
                out.append(img)
    return out


def make_image_folder(root: Path, n: int, classes: int = 10, size: int = SIZE, seed: int = 0) -> Path:
    """``root/train/<c>/`` and ``root/val/<c>/`` (90/10) with ``n`` JPEGs in all; class c gets its own
    source photographs; each image a random crop (25-100 % of the shorter side), maybe flipped."""
    import cv2

    photos = _photos()
    rng = np.random.default_rng(seed)
    per_class = [photos[c::classes] or [photos[c % len(photos)]] for c in range(classes)]
    for i in range(n):
        c = i % classes
        src = per_class[c][int(rng.integers(len(per_class[c])))]
        h, w = src.shape[:2]
        s = int(rng.integers(max(16, min(h, w) // 4), min(h, w) + 1))
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        crop = cv2.resize(src[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        split = "val" if (i // classes) % 10 == 9 else "train"
        d = root / split / f"class{c}"
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.ascontiguousarray(crop), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return root


def _spec() -> Any:
    from edgekit.preprocess.spec import imagenet_spec

    return imagenet_spec(SIZE, 256)


def _tiny_model(classes: int) -> Any:
    import torch.nn as nn

    return nn.Sequential(nn.Conv2d(3, 8, 5, stride=4), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))


# -- memory ----------------------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    return children


def _tree(root_pid: int) -> list[int]:
    """root_pid and its descendants (root first)."""
    children = _children()
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss(pid: int) -> dict[str, int]:
    """{"pss", "anon", "file", "shmem", "private_dirty"} in bytes from /proc/PID/smaps_rollup (anon, file
    and shmem: the PSS of each kind; private_dirty: pages only this process has written, e.g. the
    copy-on-write copies a forked worker made of its parent's heap); {} if the process is gone."""
    keys = {"Pss:": "pss", "Pss_Anon:": "anon", "Pss_File:": "file", "Pss_Shmem:": "shmem",
            "Private_Dirty:": "private_dirty"}
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k = line.split(None, 1)[0]
                if k in keys:
                    out[keys[k]] = int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return {}
    return out


def _pss_tree(root_pid: int) -> int:
    """Summed PSS (bytes) of root_pid and its descendants."""
    return sum(_pss(pid).get("pss", 0) for pid in _tree(root_pid))


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


class TreeSampler:
    """Samples the summed PSS of a process tree, split by role: ``main`` (the root), ``workers`` (children
    with the root's command line: forked DataLoader workers) and ``other`` (anything else it runs, e.g. the
    C++ parity runner). Keeps the peak of the sum (with the per-process rows at that moment), the peak of
    each role, and a coarse timeline (one row per ``every_s``)."""

    def __init__(self, root_pid: int, every_s: float = 1.0) -> None:
        self.root = root_pid
        self.every_s = every_s
        self.t0 = time.perf_counter()
        self.samples = 0
        self.peak = 0
        self.peak_at: dict[str, Any] = {}
        self.role_peak = {"main": 0, "workers": 0, "other": 0, "worker_max": 0}
        self.timeline: list[list[float]] = []  # [t_s, total_mb, main_mb, workers_mb, other_mb, n_procs]
        self.phases: list[dict[str, Any]] = []  # the peak of each phase (a phase ends with a stage line)
        self._root_cmd = b""
        self._phase: dict[str, int] = {"total": 0, "main": 0, "workers": 0, "anon_shmem": 0}
        self.peak_own = 0
        self._lock = threading.Lock()

    def phase_done(self, name: str) -> None:
        """Close the phase that ends now (named for the stage whose line ended it)."""
        with self._lock:
            mb = 1 / 2**20
            self.phases.append({"until": name, "t_s": round(time.perf_counter() - self.t0, 1),
                                **{f"peak_{k}_mb": round(v * mb, 1) for k, v in self._phase.items()}})
            self._phase = {"total": 0, "main": 0, "workers": 0, "anon_shmem": 0}

    def sample(self) -> int:
        t = time.perf_counter() - self.t0
        # command lines read before the PSS (an exiting process reads an empty command line first)
        cmds = {pid: _cmdline(pid) for pid in _tree(self.root)}
        rows = {pid: _pss(pid) for pid in cmds}
        rows = {pid: r for pid, r in rows.items() if r}
        roles: dict[str, int] = {"main": 0, "workers": 0, "other": 0}
        # the root's read each time (right after Popen it has not exec'd yet); the last one kept (a root that
        # is exiting reads empty while its workers still run)
        self._root_cmd = cmds.get(self.root) or self._root_cmd
        root_cmd = self._root_cmd
        worker_max = 0
        for pid, r in rows.items():
            if pid == self.root:
                role = "main"
            else:
                role = "workers" if root_cmd and cmds[pid] == root_cmd else "other"
                if role == "workers":
                    worker_max = max(worker_max, r.get("pss", 0))
            roles[role] += r.get("pss", 0)
        total = sum(roles.values())
        # anon + shmem: the memory the build allocates; the PSS of file-backed pages (the libraries' code)
        # also depends on how many other processes on the host map the same files
        own = sum(r.get("anon", 0) + r.get("shmem", 0) for r in rows.values())
        self.peak_own = max(self.peak_own, own)
        with self._lock:
            for k, v in (("total", total), ("main", roles["main"]), ("workers", roles["workers"]),
                         ("anon_shmem", own)):
                self._phase[k] = max(self._phase[k], v)
        for k, v in roles.items():
            self.role_peak[k] = max(self.role_peak[k], v)
        self.role_peak["worker_max"] = max(self.role_peak["worker_max"], worker_max)
        self.samples += 1
        mb = 1 / 2**20
        if total > self.peak:
            self.peak = total
            self.peak_at = {"t_s": round(t, 1), **{f"{k}_mb": round(v * mb, 1) for k, v in roles.items()},
                            "processes": {str(pid): {k: round(v * mb, 1) for k, v in r.items()}
                                          for pid, r in rows.items()}}
        if not self.timeline or t - self.timeline[-1][0] >= self.every_s:
            self.timeline.append([round(t, 1), round(total * mb, 1), round(roles["main"] * mb, 1),
                                  round(roles["workers"] * mb, 1), round(roles["other"] * mb, 1),
                                  len(rows)])
        return total

    def report(self) -> dict[str, Any]:
        mb = 1 / 2**20
        return {"peak_pss_mb": round(self.peak * mb, 1),
                "peak_anon_shmem_pss_mb": round(self.peak_own * mb, 1),
                "peak_main_pss_mb": round(self.role_peak["main"] * mb, 1),
                "peak_workers_pss_mb": round(self.role_peak["workers"] * mb, 1),
                "peak_one_worker_pss_mb": round(self.role_peak["worker_max"] * mb, 1),
                "peak_other_pss_mb": round(self.role_peak["other"] * mb, 1),
                "at_peak": self.peak_at, "samples": self.samples, "phases": self.phases}


def _data_build(folder: Path, workers: int, batch: int) -> dict[str, Any]:
    """The child: every split of a build through the streaming engine."""
    import torch
    import torch.nn.functional as F

    from edgekit.data.config import AugmentConfig, DataConfig
    from edgekit.data.engine import build_splits, calib_array
    from edgekit.train.loop import FitConfig, evaluate, fit

    torch.set_num_threads(1)
    data = DataConfig(source={"kind": "image_folder", "root": str(folder)},  # type: ignore[arg-type]
                      calibration={"split": "train", "count": 256}, golden={"split": "val", "count": 8})
    aug = AugmentConfig.model_validate({"steps": [{"op": "random_resized_crop"}, {"op": "horizontal_flip"}]})
    spec = _spec()
    t0 = time.perf_counter()
    s = build_splits(data, folder.parent, spec, augment=aug)
    model = _tiny_model(len(s.labels))
    assert s.train is not None
    r = fit(model, s.train, FitConfig(epochs=1, lr=1e-3, batch_size=batch, num_workers=workers),
            F.cross_entropy, bad=s.bad)
    ev = evaluate(model, s.eval, batch_size=batch, num_workers=workers, bad=s.bad)
    cal = calib_array(s, batch_size=batch, num_workers=workers)
    return {"train_images": r.images, "eval_images": ev.n, "calib": int(cal.shape[0]),
            "golden": len(s.golden), "seconds": round(time.perf_counter() - t0, 1),
            "train_images_per_s": round(r.images_per_s, 1)}


BUILD_YAML = """schema_version: 1
name: bench-memory
model:
  teacher: {{factory: "model.py:build", kwargs: {{classes: {classes}}}}}
data:
  source: {{kind: image_folder, root: "{root}"}}
  calibration: {{split: train, count: 256}}
  golden: {{split: val, count: 8}}
augment:
  steps: [{{op: random_resized_crop}}, {{op: horizontal_flip}}]
preprocess:
  steps:
    - {{op: decode, color: bgr}}
    - {{op: cvt_color, code: BGR2RGB}}
    - {{op: resize, mode: shorter_side, size: [256], interpolation: linear}}
    - {{op: center_crop, size: [224, 224]}}
    - {{op: to_float, scale: 0.00392156862745098}}
    - {{op: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}
    - {{op: layout, to: NCHW}}
recipe:
  steps: [ptq]
  epochs: {{teacher: 1, distill: 0, finetune: 0, qat: 0}}
  batch_size: {batch}
train: {{device: cpu, num_workers: {workers}}}
"""
BUILD_MODEL = """import torch.nn as nn


def build(classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 5, stride=4), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))
"""


def memory(n: int, workers: int, batch: int, keep: Path | None = None, whole_build: bool = False,
           device: str = "cpu") -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"edgekit-bench-{n}-")) if keep is None else keep
    folder = tmp / "imgs"
    t0 = time.perf_counter()
    if not (folder / "train").is_dir():
        make_image_folder(folder, n)
    gen_s = time.perf_counter() - t0
    disk = sum(p.stat().st_size for p in folder.rglob("*.jpg"))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1")
    if whole_build:  # `edgekit build` of a project over the folder: every stage, parity included
        proj = tmp / "project"
        proj.mkdir(exist_ok=True)
        classes = len([d for d in (folder / "train").iterdir() if d.is_dir()])
        (proj / "edgekit.yaml").write_text(BUILD_YAML.format(classes=classes, root=folder, batch=batch,
                                                             workers=workers))
        (proj / "model.py").write_text(BUILD_MODEL)
        cmd = [sys.executable, "-m", "edgekit.cli", "build", "--config", str(proj / "edgekit.yaml"),
               "--device", device, "--out", str(tmp / "bundle"), "--json"]
        import shutil  # a kept folder's stage cache (ours) must not let the build skip the training measured

        shutil.rmtree(tmp / ".edgekit-cache" / "bench-memory", ignore_errors=True)
    else:
        cmd = [sys.executable, "-m", "edgekit.bench.data_engine", "_child", str(folder), str(workers),
               str(batch)]
    t_run = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = TreeSampler(proc.pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sampler.sample()
            time.sleep(0.05)

    def relay() -> None:  # the build's progress, echoed; each finished stage ("✓ name ...") ends a phase
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            words = line.split()
            if len(words) > 1 and words[0] in ("✓", "✗"):
                sampler.phase_done(words[1])
            elif line.startswith("preflight:"):
                sampler.phase_done("preflight")

    th = threading.Thread(target=sample, daemon=True)
    th_err = threading.Thread(target=relay, daemon=True)
    th.start()
    th_err.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait()
    th_err.join()
    sampler.phase_done("end")
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"error: the benchmark child failed (exit {proc.returncode})")
    if whole_build:
        child = {"what": f"edgekit build --device {device} (teacher 1 epoch + ptq + export + parity)",
                 "seconds": round(time.perf_counter() - t_run, 1)}
        try:
            b = json.loads((tmp / "bundle" / "manifest.json").read_text()).get("build") or {}
            child["data"] = b.get("data")
            child["teacher_images_per_s"] = ((b.get("fits") or {}).get("teacher") or {}).get("images_per_s")
        except (OSError, ValueError):
            pass
    else:
        child = {"what": "data engine: fit 1 epoch + evaluate + calibration + golden",
                 **json.loads(out.strip().splitlines()[-1])}
    return {"images": n, "size": SIZE, "workers": workers, "batch_size": batch,
            **{k: v for k, v in sampler.report().items() if k not in ("at_peak", "phases")},
            "dataset_on_disk_mb": round(disk / 2**20, 1),
            "decoded_dataset_mb": round(n * SIZE * SIZE * 3 / 2**20, 1), "generate_seconds": round(gen_s, 1),
            **child, "at_peak": sampler.report()["at_peak"], "phases": sampler.phases,
            "timeline": sampler.timeline}


# -- speed -----------------------------------------------------------------------------------------
class _PlainDataset:
    """What a user writes by hand: the same per-item decode + preprocess function, no edgekit engine."""

    def __init__(self, paths: list[str], labels: list[int], spec: Any) -> None:
        self.paths, self.labels, self.spec = paths, labels, spec

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        import torch

        from edgekit.preprocess import run

        return torch.from_numpy(run(self.spec, self.paths[i])[0][0]), self.labels[i]


def _plain_loop(ds: _PlainDataset, model: Any, epochs: int, batch: int, workers: int, lr: float) -> float:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader: DataLoader[Any] = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,  # type: ignore[arg-type]
                        generator=torch.Generator().manual_seed(0))
    steps = epochs * len(loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    n = 0
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            n += len(y)
    return n / (time.perf_counter() - t0)


def speed(n: int, workers: int, batch: int, epochs: int, rounds: int, size: int) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from edgekit.data.config import DataConfig
    from edgekit.data.engine import build_splits
    from edgekit.preprocess.spec import imagenet_spec
    from edgekit.train.loop import FitConfig, fit

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="edgekit-speed-"))
    make_image_folder(tmp / "imgs", n, size=size)
    spec = imagenet_spec(size, size)  # shorter-side resize to `size`, then the centre crop
    data = DataConfig(source={"kind": "image_folder", "root": str(tmp / "imgs")},  # type: ignore[arg-type]
                      calibration={"split": "train", "count": 8}, golden={"split": "val", "count": 2})
    s = build_splits(data, tmp, spec)
    assert s.train is not None
    split = s.train.split
    paths = [split.path(i) for i in range(len(split))]  # type: ignore[union-attr]
    labels = [int(v) for v in split.labels]  # type: ignore[union-attr]
    plain_ds = _PlainDataset(paths, labels, spec)
    cfg = FitConfig(epochs=epochs, lr=1e-3, batch_size=batch, num_workers=workers, optimizer="adam",
                    schedule="onecycle")
    ek: list[float] = []
    pl: list[float] = []
    train = s.train

    def run_plain(r: int) -> None:
        torch.manual_seed(r)
        pl.append(_plain_loop(plain_ds, _tiny_model(len(s.labels)), epochs, batch, workers, 1e-3))

    def run_edgekit(r: int) -> None:
        torch.manual_seed(r)
        ek.append(fit(_tiny_model(len(s.labels)), train, cfg, F.cross_entropy).images_per_s)

    for r in range(rounds):  # A B B A ...: neither side always runs first on a shared, noisy host
        first, second = (run_plain, run_edgekit) if r % 2 == 0 else (run_edgekit, run_plain)
        first(r)
        second(r)
    return {"images": len(paths), "size": size, "workers": workers, "batch_size": batch, "epochs": epochs,
            "rounds": rounds, "edgekit_images_per_s": [round(v, 1) for v in ek],
            "plain_images_per_s": [round(v, 1) for v in pl],
            "ratio_of_medians": round(statistics.median(ek) / statistics.median(pl), 3)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        print(json.dumps(_data_build(Path(argv[1]), int(argv[2]), int(argv[3]))))
        return 0
    ap = argparse.ArgumentParser(prog="python -m edgekit.bench.data_engine")
    ap.add_argument("what", choices=["memory", "speed"])
    ap.add_argument("--images", type=int, nargs="+", default=[2000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--size", type=int, default=96, help="speed: image size")
    ap.add_argument("--whole-build", action="store_true", help="memory: measure `edgekit build` of a project")
    ap.add_argument("--keep", type=Path, nargs="*", help="memory: reuse these folders (one per --images)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    rows: list[dict[str, Any]] = []
    for i, n in enumerate(a.images):
        keep = a.keep[i] if a.keep and i < len(a.keep) else None
        rows.append(memory(n, a.workers, a.batch_size, keep, a.whole_build) if a.what == "memory"
                    else speed(n, a.workers, a.batch_size, a.epochs, a.rounds, a.size))
    t = Table(title=f"data engine: {a.what}")
    t.add_column("")
    for r in rows:
        t.add_column(f"{r['images']} images", justify="right")
    for k in rows[0]:
        if not isinstance(rows[0][k], dict | list):  # at_peak / timeline: in the JSON only
            t.add_row(k, *[str(r.get(k)) for r in rows])
    Console().print(t)
    if a.json:
        tmp = a.json.with_suffix(".tmp")
        tmp.write_text(json.dumps({"benchmark": f"data_engine.{a.what}", "results": rows}, indent=2) + "\n")
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
