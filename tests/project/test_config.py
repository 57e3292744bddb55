"""The project config: schema validation with the dotted key and the line, factories, strict weights,
preflight, recipe bounds — each bad input one line naming the key and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from edgekit.errors import ConfigError, EdgekitError
from edgekit.examples import get_example
from edgekit.project.preflight import preflight
from edgekit.project.project import builtin_names, load_project
from tests.project.imagefolder import write_imagefolder

MODEL_PY = '''
import torch.nn as nn

def net(classes, in_channels=3, width=8):
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

def wrong_classes(classes):
    return net(classes + 1)

def boom(classes):
    raise ValueError("no such width")

def not_a_module(classes):
    return 42

class Fwd(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.fc = nn.Linear(7, classes)
    def forward(self, x):
        return self.fc(x)

def bad_forward(classes):
    return Fwd(classes)

class NoExport(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.body = net(classes)
    def forward(self, x):
        import numpy as np
        return self.body(x) + float(np.float32(x.sum().item()) * 0)  # data-dependent: the tracer warns

class Fixed(nn.Module):
    """Reshapes to a hard-coded channel count: torch-pruning's graph cannot know it, pruning breaks it."""
    def forward(self, x):
        return x.reshape(x.shape[0], 16, x.shape[2], x.shape[3]) * 1.0

def gated(classes):
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), Fixed(), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))
'''


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imagefolder(tmp_path_factory.mktemp("photos") / "data", classes=3, per_class=6, size=32)


def project(
    tmp_path: Path,
    photos: Path,
    teacher: str = "model.py:net",
    extra: str = "",
    kwargs: str = "{classes: 3}",
    recipe: str = "steps: [prune, ptq]",
    decode: str = "bgr",
) -> Path:
    (tmp_path / "model.py").write_text(MODEL_PY)
    cvt = "    - {op: cvt_color, code: BGR2RGB}\n" if decode == "bgr" else ""
    text = (
        textwrap.dedent(f"""\
        schema_version: 1
        name: t
        model:
          teacher: {{factory: "{teacher}", kwargs: {kwargs}}}
        data:
          source: {{kind: image_folder, root: "{photos}", val_fraction: 0.3}}
          calibration: {{split: train, count: 4}}
          golden: {{split: val, count: 2}}
        preprocess:
          steps:
            - {{op: decode, color: {decode}}}
        """)
        + cvt
        + textwrap.dedent("""\
            - {op: resize, size: [32, 32]}
            - {op: to_float}
            - {op: normalize, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
            - {op: layout, to: NCHW}
        recipe:
        """)
        + textwrap.indent(recipe, "  ")
        + "\n"
        + extra
    )
    (tmp_path / "edgekit.yaml").write_text(text)
    return tmp_path / "edgekit.yaml"


def err(path: Path) -> str:
    with pytest.raises(EdgekitError) as e:
        proj = load_project(path)
        preflight(proj, 17, 8)
    msg = str(e.value)
    assert "\n" not in msg and e.value.fix, msg
    return msg


def test_builtin_examples_are_projects_on_the_same_loader() -> None:
    assert builtin_names() == ["digits", "digits-detection", "mobilenetv2-imagenet"]
    d = get_example("digits")
    assert d.path.name == "edgekit.yaml" and d.path.parent.name == "digits"  # type: ignore[attr-defined]
    assert d.plan == ("train_teacher", "distill", "prune", "qat")
    assert d.spec.input_shape() == [1, 1, 28, 28] and d.labels == [str(i) for i in range(10)]
    assert d.recipe(True).max_train == 1000 and d.recipe(False).max_train is None
    assert d.recipe(False).teacher_epochs == 10 and d.recipe(True).teacher_epochs == 1
    m = get_example("mobilenetv2-imagenet")
    assert m.plan == ("pretrained_teacher", "ptq") and m.notes


def test_a_good_user_project_passes_preflight(tmp_path: Path, photos: Path) -> None:
    proj = load_project(project(tmp_path, photos))
    assert proj.labels == ["chelsea", "coffee", "rocket"]
    res = preflight(proj, 17, 8)
    assert "teacher: forward -> [2, 3]" in res.checks and "prune: dependency graph builds" in res.checks


@pytest.mark.parametrize(
    "first,key,line,want",
    [
        ("schema_version: 2", "schema_version", 1, "version 2 is not supported"),
        ("schema_version: 1\nmodle: {}", "modle", 2, "unknown key"),
        ("name: t", "schema_version", 1, "required key is missing"),
    ],
)
def test_top_level_errors_name_key_and_line(
    tmp_path: Path, photos: Path, first: str, key: str, line: int, want: str
) -> None:
    p = project(tmp_path, photos)
    body = p.read_text().split("\n", 2)[2]  # without schema_version and name
    p.write_text(first + ("\nname: t" if "name" not in first else "") + "\n" + body)
    msg = err(p)
    assert f"edgekit.yaml:{line}: {key}: {want}" in msg, msg


@pytest.mark.parametrize(
    "recipe,key",
    [
        ("prune_ratio: 1.5", "recipe.prune_ratio"),
        ("batch_size: 0", "recipe.batch_size"),
        ("epochs: {teacher: -1}", "recipe.epochs.teacher"),
        ("lr: .nan", "recipe.lr"),
        ("seed: -3", "recipe.seed"),
        ("steps: [qat, prune]", "recipe.steps"),
        ("steps: [distill]", "recipe.steps"),  # no student
        ("fast: {batch_size: 0}", "recipe.fast.batch_size"),
    ],
)
def test_recipe_bounds_name_the_dotted_key_and_line(
    tmp_path: Path, photos: Path, recipe: str, key: str
) -> None:
    p = project(tmp_path, photos, recipe=recipe)
    msg = err(p)
    line = next(i + 1 for i, t in enumerate(p.read_text().splitlines()) if t.startswith("recipe:")) + 1
    assert f"edgekit.yaml:{line}: {key}:" in msg, msg


def test_preprocess_and_train_errors(tmp_path: Path, photos: Path) -> None:
    p = project(tmp_path, photos, extra="train: {device: gpu}\n")
    assert "train.device:" in err(p)
    p = project(tmp_path, photos)
    p.write_text(p.read_text().replace("{op: to_float}", "{op: to_flaot}"))
    msg = err(p)
    line = next(i + 1 for i, t in enumerate(p.read_text().splitlines()) if "to_flaot" in t)
    assert f"edgekit.yaml:{line}: preprocess.steps.3:" in msg and "to_flaot" in msg, msg


def test_cuda_on_a_cpu_only_torch_names_the_build(tmp_path: Path, photos: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this torch sees a GPU")
    proj = load_project(project(tmp_path, photos, extra="train: {device: cuda}\n"))
    with pytest.raises(EdgekitError) as e:
        proj.train_device()
    assert torch.__version__ in str(e.value) and "train.device" in str(e.value)


@pytest.mark.parametrize(
    "teacher,kwargs,want",
    [
        ("nosuchpkg.models:net", "{classes: 3}", "module 'nosuchpkg.models' does not import"),
        ("model.py:nothere", "{classes: 3}", "has no attribute 'nothere'"),
        ("missing.py:net", "{classes: 3}", "does not exist"),
        ("model.py:boom", "{classes: 3}", "raised ValueError: no such width"),
        ("model.py:net", "{classes: 3, depth: 4}", "raised TypeError"),
        ("model.py:not_a_module", "{classes: 3}", "returned a int, not a torch.nn.Module"),
        ("model.py:wrong_classes", "{classes: 3}", "gives shape [2, 4], not [2, 3]"),
        ("model.py:bad_forward", "{classes: 3}", "a forward at the spec's input shape [2, 3, 32, 32] failed"),
        (
            "model.py:net",
            "{classes: 3, in_channels: 1}",
            "takes 1 input channels but the preprocess spec gives 3",
        ),
        ("torchvision:resnet18", "{}", "torchvision"),
    ],
)
def test_factory_problems_are_one_line_naming_the_key(
    tmp_path: Path, photos: Path, teacher: str, kwargs: str, want: str
) -> None:
    msg = err(project(tmp_path, photos, teacher=teacher, kwargs=kwargs))
    assert "model.teacher" in msg and want in msg and ":4:" in msg, msg


def test_weights_load_strictly_and_name_the_first_mismatches(tmp_path: Path, photos: Path) -> None:
    p = project(tmp_path, photos, teacher="model.py:net")
    good = load_project(p).teacher()
    torch.save(good.state_dict(), tmp_path / "good.pt")
    p.write_text(p.read_text().replace("kwargs: {classes: 3}}", "kwargs: {classes: 3}, weights: good.pt}"))
    loaded = load_project(p).teacher()
    assert all(
        torch.equal(a, b)
        for a, b in zip(good.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    sd = good.state_dict()
    sd["extra.weight"] = torch.zeros(1)
    sd.pop("1.running_mean")
    sd["5.weight"] = torch.zeros(4, 8)
    torch.save(sd, tmp_path / "good.pt")
    with pytest.raises(ConfigError) as e:
        load_project(p).teacher()
    msg = str(e.value)
    assert (
        "model.teacher.weights" in msg
        and "missing 1.running_mean" in msg
        and "unexpected extra.weight" in msg
    )
    assert "wrong shape 5.weight (4, 8) vs model (3, 8)" in msg, msg
    (tmp_path / "good.pt").write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="not a torch state dict"):
        load_project(p).teacher()


def test_prune_failure_names_the_module_to_ignore(tmp_path: Path, photos: Path) -> None:
    p = project(tmp_path, photos, teacher="model.py:gated")
    msg = err(p)
    assert "prune.ignore: pruning breaks the model at module '1' (Fixed)" in msg, msg
    assert "add '0' to prune.ignore" in msg, msg
    p.write_text(p.read_text() + "prune: {ignore: ['0']}\n")
    proj = load_project(p)
    assert any("prune" in c for c in preflight(proj, 17, 8).checks)
    p.write_text(p.read_text().replace("ignore: ['0']", "ignore: ['nope']"))
    assert "prune.ignore.0: the model has no module 'nope'" in err(p)


def test_classifier_is_kept_out_of_pruning_by_default(tmp_path: Path, photos: Path) -> None:
    proj = load_project(project(tmp_path, photos))
    m = proj.teacher()
    ign = proj.prune_ignored(m)
    assert len(ign) == 1 and isinstance(ign[0], nn.Linear)


def test_init_detects_gray_and_refuses_bad_folders(tmp_path: Path) -> None:
    from edgekit.project.init import init_project

    gray = write_imagefolder(tmp_path / "g", classes=2, per_class=5, size=24, gray=True, names=["10", "9"])
    r = init_project(tmp_path / "pg", gray, size=24)
    proj = load_project(r.config)
    assert r.gray and proj.spec.steps[0].color == "gray"  # type: ignore[union-attr]
    assert proj.spec.input_shape() == [1, 1, 24, 24] and proj.labels == ["9", "10"]  # natural order
    assert proj.cfg.model.teacher.kwargs == {"classes": 2, "in_channels": 1, "width": 32}
    assert preflight(proj, 17, 8).checks
    with pytest.raises(ConfigError, match="already exists"):  # never replaces what is not ours
        init_project(tmp_path / "pg", gray)
    colour = write_imagefolder(tmp_path / "c", classes=2, per_class=5, size=24)
    rc = init_project(tmp_path / "pc", colour)
    assert not rc.gray and load_project(rc.config).spec.input_shape() == [1, 3, 64, 64]
    (tmp_path / "one" / "cats").mkdir(parents=True)
    (tmp_path / "one" / "cats" / "a.png").write_bytes((gray / "9" / "000.png").read_bytes())
    with pytest.raises(EdgekitError, match="one class"):
        init_project(tmp_path / "p1", tmp_path / "one")
    with pytest.raises(EdgekitError, match="does not exist"):
        init_project(tmp_path / "p2", tmp_path / "nope")
    assert not (tmp_path / "p1").exists() and not (tmp_path / "p2").exists()


def test_resume_is_refused_when_labels_or_spec_changed(tmp_path: Path) -> None:
    from edgekit.project.reuse import ResumeError, check_resume

    fp = {"config": "a", "labels": "l", "spec": "s", "device": "cpu", "fast": "True", "seed": "0"}
    assert check_resume(tmp_path, fp, resume=False) is False
    assert check_resume(tmp_path, fp, resume=True) is True  # same inputs: continues
    for part in ("labels", "spec"):
        with pytest.raises(ResumeError, match=f"the {part} changed"):
            check_resume(tmp_path, {**fp, part: "other"}, resume=True)
    assert check_resume(tmp_path, {**fp, "spec": "new"}, resume=False) is False  # a fresh build overwrites
