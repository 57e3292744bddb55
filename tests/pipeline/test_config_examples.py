from pathlib import Path

import pytest

from edgekit.errors import ConfigError
from edgekit.examples import get_example
from edgekit.examples.base import check_plan
from edgekit.project.project import builtin_path, load_project


def test_unknown_example_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as e:
        get_example("digit")
    assert "unknown example 'digit'" in str(e.value)
    assert "did you mean 'digits'" in str(e.value) and "mobilenetv2-imagenet" in str(e.value)


def test_digits_example_is_a_project_with_its_data() -> None:
    from edgekit.data.engine import build_splits

    ex = get_example("digits")
    check_plan(ex.plan)
    assert ex.spec.input_shape() == [1, 1, 28, 28] and ex.labels == [str(i) for i in range(10)]
    s = build_splits(ex.cfg.data, ex.base, ex.spec)  # type: ignore[attr-defined]
    assert s.train is not None and len(s.train) == 4000 and len(s.eval) == 1000 and len(s.golden) == 32
    assert isinstance(s.golden[0].source, bytes) and s.golden[0].source[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.recipe(True).max_train is not None and ex.recipe(False).max_train is None


@pytest.mark.parametrize("plan,msg", [
    (("train_teacher", "distil"), "unknown plan step"),
    (("distill",), "exactly one"),
    (("train_teacher", "pretrained_teacher"), "exactly one"),
    (("train_teacher", "qat", "ptq"), "not both"),
    (("train_teacher", "qat", "prune"), "out of order"),
])
def test_bad_plans(plan: tuple[str, ...], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        check_plan(plan)


def test_recipe_fast_overrides_and_relative_paths(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(builtin_path("digits").parent, tmp_path / "p")
    cfg = tmp_path / "p" / "edgekit.yaml"
    text = cfg.read_text().replace("schema_version: 1\n", "schema_version: 1\nout: b/x\ndevice: cpu\n")
    cfg.write_text(text)
    p = load_project(cfg)
    assert p.cfg.device == "cpu" and p.default_out("cpu") == (tmp_path / "p" / "b" / "x").resolve()
    r, f = p.recipe(False), p.recipe(True)
    assert r.teacher_epochs == 10 and f.teacher_epochs == 1 and r.lr == f.lr == 0.003 and f.max_train == 1000


def test_bad_yaml_and_missing_config(tmp_path: Path) -> None:
    p = tmp_path / "edgekit.yaml"
    p.write_text("schema_version: 1\ndevice: [cpu\n")
    with pytest.raises(ConfigError, match=r"cannot read config .*edgekit.yaml:3"):
        load_project(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_project(tmp_path / "nope.yaml")
    p.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_project(p)
