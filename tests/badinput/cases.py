"""The bad-input corpus: one table of cases per class. Each case is a real command line of `edgekit`,
`edgekit-infer` or `edgekit-camera` run in its own empty folder (cwd), after an optional set-up.

Placeholders in argv: {bundle} the session's pristine tiny bundle (must stay byte-identical), {copy} a
private copy of it (made when a case names it), {video} a good 12-frame MJPG clip, {tmp} the case folder.
Every case must: exit with ``code``; print exactly ONE line on stderr, starting with "error:", that contains
every string of ``says`` (the thing) and a fix ("fix:" or "--help"); no traceback; leave the pristine bundle
and the case folder as they were (nothing lost, no partial output). ``xfail``: a known defect outside this
corpus's owner, with the reason (strict: the case must fail until it is fixed).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    tool: str  # edgekit | edgekit-infer | edgekit-camera
    argv: tuple[str, ...]
    code: int
    says: tuple[str, ...] = ()
    setup: Setup | None = None
    xfail: str | None = None
    needs: tuple[str, ...] = field(default_factory=tuple)  # "cpp", "ssh"


def _c(cls: str, id: str, tool: str, argv: str | list[str], code: int, *says: str, **kw) -> tuple[str, Case]:  # type: ignore[no-untyped-def]
    a = tuple(argv.split()) if isinstance(argv, str) else tuple(argv)
    return cls, Case(f"{cls}/{id}", tool, a, code, tuple(says), **kw)


# -- set-ups: each gets the case folder and writes what the case needs ---------------------------------


def _file(name: str, text: str = "x") -> Setup:
    def f(d: Path) -> None:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)

    return f


def _dir(name: str) -> Setup:
    return lambda d: (d / name).mkdir(parents=True)


def _seq(*fs: Setup) -> Setup:
    def f(d: Path) -> None:
        for g in fs:
            g(d)

    return f


def _edit_manifest(edit: Callable[[dict], None]) -> Setup:
    def f(d: Path) -> None:
        p = d / "copy" / "manifest.json"
        m = json.loads(p.read_text())
        edit(m)
        p.write_text(json.dumps(m))

    return f


def _rm(rel: str) -> Setup:
    def f(d: Path) -> None:
        p = d / "copy" / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    return f


def _corrupt(rel: str) -> Setup:
    def f(d: Path) -> None:
        p = d / "copy" / rel
        b = bytearray(p.read_bytes())
        b[len(b) // 2] ^= 0xFF
        p.write_bytes(bytes(b))

    return f


def _set(path: str, value: object) -> Callable[[dict], None]:
    def f(m: dict) -> None:
        *head, last = path.split(".")
        cur = m
        for k in head:
            cur = cur[int(k)] if k.isdigit() else cur[k]
        if value is _DEL:
            del cur[last]
        else:
            cur[int(last) if last.isdigit() else last] = value

    return f


_DEL = object()


def _victim(d: Path) -> None:
    """A user's folder that happens to hold a manifest.json: must never be replaced."""
    (d / "victim").mkdir()
    (d / "victim" / "manifest.json").write_text("{}")
    (d / "victim" / "thesis.tex").write_text("years of work")


def _lookalike(d: Path) -> None:
    """A folder with an edgekit-looking manifest plus a file it does not list."""
    (d / "look").mkdir()
    (d / "look" / "manifest.json").write_text(
        json.dumps({"format": "edgekit-bundle", "schema_version": 1, "files": {}})
    )
    (d / "look" / "notes.txt").write_text("mine")


def _bad_png(d: Path) -> None:
    (d / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)


def _images_dir_bad(d: Path) -> None:
    (d / "imgs").mkdir()
    (d / "imgs" / "a.png").write_bytes(b"not an image")


def _npy(shape: tuple[int, ...], dtype: str = "float32", name: str = "x.npy") -> Setup:
    def f(d: Path) -> None:
        import numpy as np

        np.save(d / name, np.zeros(shape, dtype=dtype))

    return f


def _truncated_video(d: Path) -> None:
    from tests.badinput.media import truncated_copy

    truncated_copy(Path(os.environ["EDGEKIT_CORPUS_VIDEO"]), d / "cut.avi", 0.3)


def _text_video(d: Path) -> None:
    (d / "clip.avi").write_text("not a video")


def _other_key(d: Path) -> None:
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "other_key")], check=True)


def _empty_dir(name: str) -> Setup:
    return lambda d: (d / name).mkdir()


B, C = "{bundle}", "{copy}"
# flash against the session's real sshd on 127.0.0.1 ({ssh_*}); the device folder lives in the case folder
SSH = "--host {ssh_target} --port {ssh_port} --identity {ssh_identity} --known-hosts {ssh_known_hosts}"
DEV = "--remote-dir {tmp}/device --no-runtime --no-parity"
CASES: list[tuple[str, Case]] = [
    # ---- usage: the CLI's own parsing (typer/click errors) --------------------------------------------
    _c("usage", "no-command", "edgekit", [], 2, "no command"),
    _c("usage", "unknown-command", "edgekit", "frobnicate", 2, "frobnicate"),
    _c("usage", "parity-no-bundle", "edgekit", "parity", 2, "bundle"),
    _c("usage", "parity-unknown-option", "edgekit", f"parity {B} --bogus", 2, "--bogus"),
    _c("usage", "build-unknown-option", "edgekit", "build --bogus", 2, "--bogus"),
    _c("usage", "bench-no-bundle", "edgekit", "bench", 2, "bundle"),
    _c("usage", "bench-threads-not-int", "edgekit", f"bench {B} --threads abc", 2, "--threads"),
    _c("usage", "bench-option-needs-value", "edgekit", f"bench {B} --batch", 2, "--batch"),
    _c("usage", "estimate-no-target", "edgekit", "estimate", 2, "target"),
    _c("usage", "estimate-batch-not-int", "edgekit", f"estimate {B} --batch x", 2, "--batch"),
    _c("usage", "check-no-model", "edgekit", "check", 2, "model"),
    _c("usage", "check-no-device", "edgekit", "check m.onnx", 2, "--device"),
    _c("usage", "report-no-bundle", "edgekit", "report", 2, "bundle"),
    _c("usage", "demo-no-source", "edgekit", f"demo {B}", 2, "--source"),
    _c("usage", "demo-frames-not-int", "edgekit", f"demo {B} -s x --frames many", 2, "--frames"),
    _c("usage", "devices-extra-arg", "edgekit", "devices a b", 2, "b"),
    _c("usage", "engine-no-subcommand", "edgekit", "engine", 2, "no command"),
    _c("usage", "engine-unknown-subcommand", "edgekit", "engine fly", 2, "fly"),
    _c("usage", "engine-translate-no-model", "edgekit", "engine translate", 2, "qdq"),
    _c("usage", "engine-plan-no-bundle", "edgekit", "engine plan", 2, "bundle"),
    _c("usage", "engine-build-no-bundle", "edgekit", "engine build", 2, "bundle"),
    _c("usage", "flash-no-host", "edgekit", f"flash {B}", 2, "--host"),
    _c("usage", "flash-port-not-int", "edgekit", f"flash {B} --host u@h --port p", 2, "--port"),
    _c("usage", "build-seed-not-int", "edgekit", "build --seed x", 2, "--seed"),
    # ---- values: option values out of range --------------------------------------------------------------
    _c("values", "bench-batch-zero", "edgekit", f"bench {B} --batch 0", 2, "--batch"),
    _c("values", "bench-batch-garbage", "edgekit", f"bench {B} --batch 1,x", 2, "--batch"),
    _c("values", "bench-unknown-runtime", "edgekit", f"bench {B} --runtime gpu9", 2, "gpu9"),
    _c("values", "bench-unknown-model", "edgekit", f"bench {B} --models nope", 2, "nope"),
    _c("values", "estimate-batch-zero", "edgekit", f"estimate {B} --batch 0", 2, "--batch"),
    _c("values", "estimate-onnx-no-device", "edgekit", "estimate m.onnx", 2, "--device",
       setup=_file("m.onnx")),
    _c("values", "build-unknown-device", "edgekit", "build --device toaster --fast", 2, "toaster"),
    _c("values", "build-unknown-example", "edgekit", "build --device cpu --example nope --fast", 2, "nope"),
    _c("values", "build-no-device", "edgekit", "build --fast", 2, "device"),
    _c("values", "check-unknown-device", "edgekit", "check m.onnx --device toaster", 2, "toaster",
       setup=_file("m.onnx")),
    _c("values", "devices-unknown", "edgekit", "devices toaster", 2, "toaster"),
    _c("values", "parity-unknown-runtime", "edgekit", f"parity {B} --runtime gpu9", 2, "gpu9"),
    _c("values", "parity-unknown-model", "edgekit", f"parity {B} --model nope", 2, "nope"),
    _c("values", "parity-unknown-precision", "edgekit", f"parity {B} --precision fp7", 2, "fp7"),
    _c("values", "demo-bad-runner", "edgekit", f"demo {B} -s x --runner gpu", 2, "--runner"),
    _c("values", "demo-bad-fourcc", "edgekit", f"demo {B} -s x --fourcc MJPEG", 2, "--fourcc"),
    _c("values", "demo-negative-queue", "edgekit", f"demo {B} -s x --queue 0", 2, "--queue"),
    _c("values", "demo-unknown-model", "edgekit", f"demo {B} -s {{video}} --headless --runner python "
       "--model nope", 2, "nope"),
    _c("values", "flash-bad-host", "edgekit", f"flash {B} --host @", 2, "@"),
    _c("values", "flash-rollback-with-bundle", "edgekit", f"flash {B} --host u@h --rollback", 2,
       "--rollback"),
    _c("values", "engine-plan-unknown-device", "edgekit", f"engine plan {B} --device toaster", 2, "toaster"),
    _c("values", "engine-translate-unknown-device", "edgekit", "engine translate m.onnx --device toaster",
       2, "toaster", setup=_file("m.onnx")),
    # ---- bundle: a bundle that is missing, not a bundle, or corrupt ------------------------------------
    _c("bundle", "parity-missing", "edgekit", "parity nowhere", 2, "nowhere"),
    _c("bundle", "parity-not-a-bundle", "edgekit", "parity empty", 2, "empty", setup=_empty_dir("empty")),
    _c("bundle", "parity-a-file", "edgekit", "parity f.txt", 2, "f.txt", setup=_file("f.txt")),
    _c("bundle", "bench-missing", "edgekit", "bench nowhere", 2, "nowhere"),
    _c("bundle", "report-missing", "edgekit", "report nowhere", 2, "nowhere"),
    _c("bundle", "estimate-missing", "edgekit", "estimate nowhere", 2, "nowhere"),
    _c("bundle", "engine-plan-missing", "edgekit", "engine plan nowhere", 2, "nowhere"),
    _c("bundle", "demo-missing", "edgekit", "demo nowhere -s x --runner python", 2, "nowhere"),
    _c("bundle", "manifest-not-json", "edgekit", f"parity {C}", 2, "JSON",
       setup=lambda d: (d / "copy" / "manifest.json").write_text("{not json")),
    _c("bundle", "manifest-a-list", "edgekit", f"parity {C}", 2, "manifest",
       setup=lambda d: (d / "copy" / "manifest.json").write_text("[]")),
    _c("bundle", "manifest-newer-schema", "edgekit", f"parity {C}", 2, "schema_version",
       setup=_edit_manifest(_set("schema_version", 99))),
    _c("bundle", "manifest-unknown-field", "edgekit", f"parity {C}", 2, "surprise",
       setup=_edit_manifest(_set("surprise", 1))),
    _c("bundle", "manifest-missing-models", "edgekit", f"parity {C}", 2, "models",
       setup=_edit_manifest(_set("models", _DEL))),
    _c("bundle", "manifest-bad-default-model", "edgekit", f"parity {C}", 2, "default_model",
       setup=_edit_manifest(_set("default_model", "ghost"))),
    _c("bundle", "manifest-bad-dtype", "edgekit", f"parity {C}", 2, "dtype",
       setup=_edit_manifest(_set("input.dtype", "complex128"))),
    _c("bundle", "manifest-shape-mismatch", "edgekit", f"parity {C}", 2, "shape",
       setup=_edit_manifest(_set("input.shape", [-1, 3, 28, 28]))),
    _c("bundle", "manifest-bad-top-k", "edgekit", f"parity {C}", 2, "top_k",
       setup=_edit_manifest(_set("postprocess.top_k", 0))),
    _c("bundle", "model-file-missing", "edgekit", f"parity {C}", 2, "student_fp32.onnx",
       setup=_rm("models/student_fp32.onnx")),
    _c("bundle", "model-file-corrupt", "edgekit", f"parity {C}", 2, "sha256",
       setup=_corrupt("models/student_fp32.onnx")),
    _c("bundle", "labels-corrupt", "edgekit", f"bench {C}", 2, "labels.txt",
       setup=_corrupt("labels.txt")),
    _c("bundle", "golden-missing", "edgekit", f"parity {C}", 2, "golden",
       setup=_rm("golden/000.png")),
    _c("bundle", "report-json-unreadable", "edgekit", f"report {B} --bench nope.json --no-estimate", 2,
       "nope.json"),
    _c("bundle", "report-json-garbage", "edgekit", f"report {B} --parity p.json --no-estimate", 2, "p.json",
       setup=_file("p.json", "{")),
    _c("bundle", "estimate-placement-garbage", "edgekit", f"estimate {B} --placement p.json", 2, "p.json",
       setup=_file("p.json", "[")),
    _c("bundle", "check-not-onnx", "edgekit", "check m.onnx --device jetson-xavier", 2, "m.onnx",
       setup=_file("m.onnx", "garbage")),
    _c("bundle", "check-missing-model", "edgekit", "check none.onnx --device jetson-xavier", 2, "none.onnx"),
    _c("bundle", "engine-translate-not-onnx", "edgekit", "engine translate m.onnx --device jetson-xavier",
       2, "m.onnx", setup=_file("m.onnx", "garbage")),
    _c("bundle", "engine-build-no-plan", "edgekit", f"engine build {B}", 2, "plan"),
    # ---- outputs: output paths that are folders, under files, unwritable, or not ours to replace -------
    _c("outputs", "build-out-victim", "edgekit", "build --device cpu --example digits --fast --out victim", 2,
       "victim", "not an edgekit bundle", setup=_victim),
    _c("outputs", "build-out-lookalike", "edgekit", "build --device cpu --example digits --fast --out look",
       2, "notes.txt", setup=_lookalike),
    _c("outputs", "build-out-is-file", "edgekit", "build --device cpu --example digits --fast --out f", 2,
       "is a file", setup=_file("f")),
    _c("outputs", "build-out-under-file", "edgekit", "build --device cpu --example digits --fast --out f/b",
       2, "is a file", setup=_file("f")),
    _c("outputs", "build-out-unwritable", "edgekit", "build --device cpu --example digits --fast "
       "--out /proc/edgekit-b", 2, "not writable"),
    _c("outputs", "parity-json-is-folder", "edgekit", f"parity {B} --runtime ort --json d", 2, "folder",
       setup=_dir("d")),
    _c("outputs", "parity-json-under-file", "edgekit", f"parity {B} --runtime ort --json f/r.json", 2,
       "is a file", setup=_file("f")),
    _c("outputs", "parity-json-unwritable", "edgekit", f"parity {B} --runtime ort --json /proc/r.json", 2,
       "not writable"),
    _c("outputs", "bench-json-is-folder", "edgekit", f"bench {B} --json d", 2, "folder", setup=_dir("d")),
    _c("outputs", "bench-json-unwritable", "edgekit", f"bench {B} --json /proc/b.json", 2, "not writable"),
    _c("outputs", "estimate-json-is-folder", "edgekit", f"estimate {B} --json d", 2, "folder",
       setup=_dir("d")),
    _c("outputs", "demo-output-is-folder", "edgekit", f"demo {B} -s {{video}} --headless --runner python "
       "--output d", 2, "folder", setup=_dir("d")),
    _c("outputs", "demo-json-under-file", "edgekit", f"demo {B} -s {{video}} --headless --runner python "
       "--json f/l.jsonl", 2, "is a file", setup=_file("f")),
    _c("outputs", "demo-output-unknown-suffix", "edgekit", f"demo {B} -s {{video}} --headless "
       "--runner python --output o.xyz", 2, ".xyz"),
    _c("outputs", "flash-parity-out-folder", "edgekit", f"flash {B} --host u@127.0.0.1 --parity-out d", 2,
       "folder", setup=_dir("d")),
    _c("outputs", "engine-translate-out-is-file", "edgekit", "engine translate m.onnx --device "
       "jetson-xavier --out f", 2, "is a file", setup=_seq(_file("m.onnx"), _file("f"))),
    # ---- sources: demo sources (Python runner) --------------------------------------------------------
    _c("sources", "empty-uri", "edgekit", ["demo", B, "-s", "", "--runner", "python", "--headless"], 2,
       "empty"),
    _c("sources", "unknown-scheme", "edgekit", f"demo {B} -s gopher://x --runner python --headless", 2,
       "gopher"),
    _c("sources", "csi-not-a-number", "edgekit", f"demo {B} -s csi://front --runner python --headless", 2,
       "csi://"),
    _c("sources", "csi-on-cpu-profile", "edgekit", f"demo {B} -s csi://0 --runner python --headless", 2,
       "CSI"),
    _c("sources", "v4l2-malformed", "edgekit", f"demo {B} -s v4l2://cam --runner python --headless", 2,
       "v4l2"),
    _c("sources", "rtsp-no-host", "edgekit", f"demo {B} -s rtsp:// --runner python --headless", 2, "host"),
    _c("sources", "file-missing", "edgekit", f"demo {B} -s none.avi --runner python --headless", 3,
       "none.avi"),
    _c("sources", "folder-without-images", "edgekit", f"demo {B} -s empty --runner python --headless", 3,
       "no images", setup=_empty_dir("empty")),
    _c("sources", "not-a-video", "edgekit", f"demo {B} -s clip.avi --runner python --headless", 3,
       "clip.avi", setup=_text_video),
    _c("sources", "no-such-camera", "edgekit", f"demo {B} -s /dev/video97 --runner python --headless", 3,
       "video97"),
    _c("sources", "image-that-does-not-decode", "edgekit", f"demo {B} -s imgs --runner python --headless",
       2, "a.png", setup=_images_dir_bad),
    _c("sources", "truncated-video", "edgekit", f"demo {B} -s cut.avi --runner python --headless "
       "--json l.jsonl", 5, "stream ended at frame", setup=_truncated_video),
    # ---- flash: a real sshd ---------------------------------------------------------------------------
    _c("flash", "unknown-host-key", "edgekit", f"flash {B} {SSH.replace('{ssh_known_hosts}', 'kh')} {DEV}", 2,
       "host key", setup=_file("kh", ""), needs=("ssh",)),
    _c("flash", "wrong-identity", "edgekit", f"flash {B} {SSH.replace('{ssh_identity}', 'other_key')} {DEV}",
       2, "127.0.0.1", setup=_other_key, needs=("ssh",)),
    _c("flash", "identity-missing", "edgekit", f"flash {B} {SSH.replace('{ssh_identity}', 'none_key')} {DEV}",
       2, "none_key", needs=("ssh",)),
    _c("flash", "closed-port", "edgekit", f"flash {B} {SSH.replace('{ssh_port}', '{closed_port}')} {DEV}", 2,
       "127.0.0.1", needs=("ssh",)),
    _c("flash", "corrupt-bundle", "edgekit", f"flash {C} {SSH} {DEV}", 2, "sha256",
       setup=_corrupt("models/student_fp32.onnx"), needs=("ssh",)),
    _c("flash", "rollback-without-previous", "edgekit", f"flash --rollback {SSH} --remote-dir {{tmp}}/device",
       2, "previous", needs=("ssh",)),
    # ---- infer: edgekit-infer ------------------------------------------------------------------------
    _c("infer", "no-args", "edgekit-infer", [], 2, needs=("cpp",)),
    _c("infer", "unknown-option", "edgekit-infer", f"--bundle {B} --input x --bogus", 2, "--bogus",
       needs=("cpp",)),
    _c("infer", "missing-bundle", "edgekit-infer", "--bundle nowhere --input x.png", 2, "nowhere",
       needs=("cpp",)),
    _c("infer", "missing-input", "edgekit-infer", f"--bundle {B} --input none.png", 2, "none.png",
       needs=("cpp",)),
    _c("infer", "undecodable-image", "edgekit-infer", f"--bundle {B} --input bad.png", 2, "bad.png",
       setup=_bad_png, needs=("cpp",)),
    _c("infer", "npy-wrong-shape", "edgekit-infer", f"--bundle {B} --input x.npy", 2, "shape",
       setup=_npy((1, 3, 5, 5)), needs=("cpp",)),
    _c("infer", "npy-wrong-dtype", "edgekit-infer", f"--bundle {B} --input x.npy", 2, "float",
       setup=_npy((1, 1, 28, 28), "float64"), needs=("cpp",)),
    _c("infer", "npy-garbage", "edgekit-infer", f"--bundle {B} --input x.npy", 2, "x.npy",
       setup=_file("x.npy", "\x93NUMPY garbage"), needs=("cpp",)),
    _c("infer", "unknown-model", "edgekit-infer", f"--bundle {B} --input {B}/golden/000.png --model nope", 2,
       "nope", needs=("cpp",)),
    _c("infer", "unknown-backend", "edgekit-infer", f"--bundle {B} --input {B}/golden/000.png --backend gpu9",
       2, "gpu9", needs=("cpp",)),
    _c("infer", "threads-not-int", "edgekit-infer", f"--bundle {B} --input {B}/golden/000.png --threads x",
       2, "--threads", needs=("cpp",)),
    _c("infer", "corrupt-model", "edgekit-infer", f"--bundle {C} --input {B}/golden/000.png", 2, "sha256",
       setup=_corrupt("models/student_fp32.onnx"), needs=("cpp",)),
    _c("infer", "manifest-not-json", "edgekit-infer", f"--bundle {C} --input {B}/golden/000.png", 2,
       "manifest", setup=lambda d: (d / "copy" / "manifest.json").write_text("{"), needs=("cpp",)),
    _c("infer", "output-is-file", "edgekit-infer", f"--bundle {B} --input {B}/golden/000.png --output f", 2,
       "f", setup=_file("f"), needs=("cpp",)),
    # ---- camera: edgekit-camera ----------------------------------------------------------------------
    _c("camera", "no-args", "edgekit-camera", [], 2, "BUNDLE", needs=("cpp",)),
    _c("camera", "no-source", "edgekit-camera", f"{B}", 2, "--source", needs=("cpp",)),
    _c("camera", "unknown-option", "edgekit-camera", f"{B} -s x --bogus", 2, "--bogus", needs=("cpp",)),
    _c("camera", "frames-negative", "edgekit-camera", f"{B} -s x --frames -1", 2, "--frames", needs=("cpp",)),
    _c("camera", "bad-fourcc", "edgekit-camera", f"{B} -s x --fourcc MJPEG", 2, "--fourcc", needs=("cpp",)),
    _c("camera", "backoff-negative", "edgekit-camera", f"{B} -s x --backoff -2", 2, "--backoff",
       needs=("cpp",)),
    _c("camera", "unknown-scheme", "edgekit-camera", f"{B} -s gopher://x --headless", 2, "gopher",
       needs=("cpp",)),
    _c("camera", "file-missing", "edgekit-camera", f"{B} -s none.avi --headless", 3, "none.avi",
       needs=("cpp",)),
    _c("camera", "not-a-video", "edgekit-camera", f"{B} -s clip.avi --headless", 3, "clip.avi",
       setup=_text_video, needs=("cpp",)),
    _c("camera", "truncated-video", "edgekit-camera", f"{B} -s cut.avi --headless --json l.jsonl", 5,
       "stream ended at frame", setup=_truncated_video, needs=("cpp",)),
    _c("camera", "json-is-folder", "edgekit-camera", f"{B} -s {{video}} --headless --json d", 2, "folder",
       setup=_dir("d"), needs=("cpp",)),
    _c("camera", "output-unwritable", "edgekit-camera", f"{B} -s {{video}} --headless --output /proc/o.avi",
       2, "not writable", needs=("cpp",)),
    _c("camera", "corrupt-bundle", "edgekit-camera", f"{C} -s {{video}} --headless", 2, "sha256",
       setup=_corrupt("labels.txt"), needs=("cpp",)),
    _c("camera", "bundle-missing", "edgekit-camera", "nowhere -s x --headless", 2, "nowhere",
       needs=("cpp",)),
]
