from pathlib import Path

import pytest

from edgekit.config import load_config
from edgekit.errors import ConfigError
from edgekit.examples import get_example
from edgekit.examples.base import Recipe, check_plan


def test_unknown_example_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as e:
        get_example("digit")
    assert "unknown example 'digit'" in str(e.value)
    assert "did you mean 'digits'" in str(e.value) and "mobilenetv2-imagenet" in str(e.value)


def test_digits_example_follows_the_protocol() -> None:
    ex = get_example("digits")
    check_plan(ex.plan)
    assert ex.spec.input_shape() == [1, 1, 28, 28] and ex.labels == [str(i) for i in range(10)]
    d = ex.load_data(fast=True)
    assert d.train_images.dtype.name == "uint8" and d.train_images.shape[1:] == (28, 28)
    assert len(d.train_images) == 4000 and len(d.eval_images) == 1000 and len(d.golden) == 32
    assert d.golden[0].source[:8] == b"\x89PNG\r\n\x1a\n"
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


def test_config_overrides_and_relative_paths(tmp_path: Path) -> None:
    p = tmp_path / "edgekit.yaml"
    p.write_text("device: cpu\nout: b/x\nrecipe:\n  teacher_epochs: 2\n  prune_ratio: 0.25\n")
    cfg = load_config(p)
    assert cfg.device == "cpu" and cfg.out == tmp_path / "b" / "x"
    r = cfg.apply(Recipe())
    assert r.teacher_epochs == 2 and r.prune_ratio == 0.25 and r.distill_epochs == Recipe().distill_epochs


@pytest.mark.parametrize("text,where", [
    ("devcie: cpu\n", "devcie"),
    ("recipe:\n  teacher_epoch: 2\n", "recipe.teacher_epoch"),
    ("recipe:\n  lr: fast\n", "recipe.lr"),
    ("seed: -1\n", "seed"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, where: str) -> None:
    p = tmp_path / "edgekit.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"invalid at '{where}'" in str(e.value) and e.value.fix


def test_bad_yaml_and_missing_config(tmp_path: Path) -> None:
    p = tmp_path / "edgekit.yaml"
    p.write_text("device: [cpu\n")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    p.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)
