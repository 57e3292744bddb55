#!/usr/bin/env python3
"""Build the TensorRT engine of a bundle ON THE DEVICE, exactly as the bundle's trt/plan.json says.

Runs with the device's own python3 (3.6 on JetPack 4.6, 3.8 on JetPack 5, 3.10 on JetPack 6), standard
library only: edgekit's Python package is not needed on the device.

    python3 engine_build.py --bundle DIR [--model ID] [--trtexec PATH] [--meta-tool PATH] [--print]

1. The engine: the plan entry whose model_id is the bundle's default_model (manifest.json), or --model.
2. trtexec runs in the bundle folder with that entry's ``trtexec_args`` unchanged, except that the engine
   is first written to ``<engine>.tmp`` (renamed once its metadata exists). The plan carries the profile's
   workspace limit (--memPoolSize / --workspace) and the timing cache (--timingCacheFile).
   --timing-cache-store keeps one timing cache per device across bundles (copied in before, back after).
3. edgekit-trt-meta (built with the runtime where TensorRT is found) loads the new engine with this
   device's libnvinfer and writes ``<engine>.json``, which ``edgekit-infer --backend trt`` requires.

--print shows the commands and runs nothing. The last stdout line is one JSON object. Exit status:
0 built (or printed), 2 bad input, 3 the plan has no engine for the model, 4 a build step failed,
5 TensorRT absent (no trtexec), 6 edgekit-trt-meta missing. Errors are one line: what, then the fix.

COMPILED/WRITTEN, NEVER RUN AGAINST TENSORRT: no machine of the project has TensorRT. Its tests run it with
stand-ins for trtexec and edgekit-trt-meta and check the exact argument lists.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

JETPACK_TRTEXEC = "/usr/src/tensorrt/bin/trtexec"
ABSENT = "TensorRT absent on device: engine not built"


class Fail(Exception):
    def __init__(self, code, message, fix):
        Exception.__init__(self, message)
        self.code, self.message, self.fix = code, message, fix


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise Fail(2, f"{what} {path} is missing", "flash the bundle again")
    except ValueError:
        raise Fail(2, f"{what} {path} is not valid JSON", "rebuild the bundle")


def select_engine(bundle, model=None):
    """(plan entry, model id) for the bundle's default model, or Fail(3)."""
    manifest = load_json(os.path.join(bundle, "manifest.json"), "manifest")
    plan = load_json(os.path.join(bundle, "trt", "plan.json"), "TensorRT plan")
    want = model or manifest.get("default_model") or ""
    engines = [e for e in plan.get("engines", []) if isinstance(e, dict)]
    for e in engines:
        if e.get("model_id") == want:
            if not isinstance(e.get("trtexec_args"), list) or not e.get("engine"):
                raise Fail(3, f"trt/plan.json entry for '{want}' has no trtexec_args/engine",
                           "rebuild the bundle with edgekit build --device <jetson profile>")
            return e, want
    have = ", ".join(str(e.get("model_id")) for e in engines) or "none"
    raise Fail(3, f"trt/plan.json has no engine for the bundle's model '{want}' (it has: {have})",
               "rebuild the bundle for this Jetson profile, or flash with --no-engine")


def find_trtexec(explicit=None):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("trtexec")
    if found:
        return found
    return JETPACK_TRTEXEC if os.access(JETPACK_TRTEXEC, os.X_OK) else None


def commands(bundle, entry, trtexec, meta_tool):
    """The two argvs: trtexec with the plan's arguments (engine to <engine>.tmp), then edgekit-trt-meta."""
    engine = entry["engine"]
    tmp = engine + ".tmp"
    args = [str(a) for a in entry["trtexec_args"]]
    if "--saveEngine=" + engine not in args:
        raise Fail(3, "trt/plan.json entry for '{}' does not save to {}".format(entry.get("model_id"), engine),
                   "rebuild the bundle (the plan and its engine name disagree)")
    build = [trtexec] + [("--saveEngine=" + tmp if a == "--saveEngine=" + engine else a) for a in args]
    meta = [meta_tool, "--engine", tmp, "--onnx", entry["onnx"], "--precision", entry["precision"],
            "--out", engine + ".json.new"]
    if entry.get("dla_core") is not None:
        meta += ["--dla-core", str(entry["dla_core"])]
    return build, meta


def run_step(argv, cwd, what):
    t0 = time.time()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    out, _ = p.communicate()
    sys.stderr.write(out[-4000:])
    if p.returncode != 0:
        tail = [ln for ln in out.strip().splitlines() if ln.strip()][-1:] or [""]
        raise Fail(4, f"{what} exit {p.returncode}: {tail[0][:300]}",
                   "read the output above; the bundle and the active engine were left as they were")
    return time.time() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--model")
    ap.add_argument("--trtexec")
    ap.add_argument("--meta-tool", default="")
    ap.add_argument("--timing-cache-store", default="",
                    help="a device-wide timing cache: copied to the plan's timing cache before trtexec, back after")
    ap.add_argument("--print", dest="print_only", action="store_true")
    a = ap.parse_args(argv)
    bundle = os.path.abspath(a.bundle)
    try:
        trtexec = find_trtexec(a.trtexec)
        if trtexec is None and not a.print_only:
            raise Fail(5, ABSENT + f" (no trtexec on PATH or at {JETPACK_TRTEXEC})",
                       "install TensorRT (JetPack: sudo apt install nvidia-jetpack) or flash with --no-engine")
        if not os.path.isfile(os.path.join(bundle, "trt", "plan.json")):
            raise Fail(3, "the bundle has no trt/plan.json", "rebuild it with edgekit build --device <jetson profile>")
        entry, model = select_engine(bundle, a.model)
        meta_tool = a.meta_tool or "edgekit-trt-meta"
        build, meta = commands(bundle, entry, trtexec or "trtexec", meta_tool)
        result = {"state": "planned", "model": model, "engine": entry["engine"], "trtexec": build, "meta": meta,
                  "workspace_mib": entry.get("workspace_mib"), "timing_cache": entry.get("timing_cache")}
        if a.print_only:
            print(json.dumps(result))
            return 0
        if not (os.path.isfile(meta_tool) and os.access(meta_tool, os.X_OK)):
            raise Fail(6, f"edgekit-trt-meta is not built at {meta_tool} (the runtime was built without TensorRT)", "rebuild the runtime where NvInfer.h, libnvinfer and CUDA are installed")
        engine = os.path.join(bundle, entry["engine"])
        for stale in (engine + ".json", engine + ".json.new"):
            if os.path.exists(stale):
                os.remove(stale)  # never leave metadata beside an engine it does not describe
        cache = os.path.join(bundle, entry.get("timing_cache") or "trt/timing.cache")
        if not os.path.isdir(os.path.dirname(cache)):
            os.makedirs(os.path.dirname(cache))
        store = a.timing_cache_store
        if store and os.path.isfile(store) and not os.path.isfile(cache):
            shutil.copyfile(store, cache)  # tactic timings of earlier builds on this device: a faster build
        secs = run_step(build, bundle, "trtexec")
        if store and os.path.isfile(cache):
            shutil.copyfile(cache, store + ".tmp")
            os.replace(store + ".tmp", store)
        run_step(meta, bundle, "edgekit-trt-meta")
        os.rename(engine + ".tmp", engine)
        os.rename(engine + ".json.new", engine + ".json")
        result.update(state="built", seconds=round(secs, 1))
        print(json.dumps(result))
        return 0
    except Fail as exc:
        sys.stderr.write(f"error: {exc.message} — fix: {exc.fix}\n")
        print(json.dumps({"state": {3: "no-plan", 5: "absent", 6: "no-meta-tool"}.get(exc.code, "failed"),
                          "code": exc.code, "error": exc.message, "fix": exc.fix}))
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
