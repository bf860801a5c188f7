"""One import namespace: the repository's top-level folders install as ``zeroleague.*`` and nothing else."""

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"envs": "zeroleague.envs", "agents": "zeroleague.agents", "baselines": "zeroleague.baselines",
          "leagues": "zeroleague.leagues", "zeroleague": "zeroleague"}


def _package_folders() -> set[str]:
    names = set()
    for top, dotted in MAPPED.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            names.add(".".join((dotted, *rel)))
    return names


def test_every_package_folder_is_listed_and_mapped():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(cfg["packages"]) == _package_folders()
    assert cfg["package-dir"] == {v: k for k, v in MAPPED.items()}


def test_installed_top_level_is_zeroleague_alone():
    dist = importlib.metadata.distribution("zeroleague")
    top = dist.read_text("top_level.txt")
    if top is None:  # editable installs may omit the file: the packages list decides
        pytest.skip("no top_level.txt in this install")
    assert top.split() == ["zeroleague"]


@pytest.mark.parametrize("old", ["envs", "agents", "baselines", "leagues"])
def test_old_top_level_names_refuse_to_import(old):
    """Even with the repository root on sys.path, ``import envs`` fails with a message instead of creating a second
    copy of every module (two names for one module would mean two registries, two sets of classes)."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import {old}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert f"import zeroleague.{old}, not {old}" in done.stderr


def test_modules_have_one_name():
    import zeroleague.envs as envs

    assert envs.__name__ == "zeroleague.envs"
    assert not {"envs", "agents", "baselines", "leagues"} & set(sys.modules)


def test_old_module_strings_in_configs_still_resolve():
    from zeroleague.envs.registry import make_env_game

    game = make_env_game("envs.sixnimmt.engine:SixNimmtGame", {"max_card": 10, "hand_size": 3})
    assert type(game).__module__ == "zeroleague.envs.sixnimmt.engine"


NEUTRAL = {"zeroleague", "zeroleague.runlog"}  # the distribution's root and the run-log helper every layer may use


def _modules() -> set[str]:
    names = set()
    for top, dotted in MAPPED.items():
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT / top).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            if "__pycache__" not in rel:
                names.add(".".join((dotted, *rel)))
    return names


def test_every_module_sits_in_a_layer_of_the_import_contract():
    """A new module that no layer names would escape the import-linter contract: every module of the
    distribution (packages' ``__init__`` aside) must be a layer member or inside one."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    members = {m.strip().strip("()") for layer in layers for m in layer.replace("|", ":").split(":")}
    loose = []
    for mod in sorted(_modules() - NEUTRAL):
        if any(mod == m or mod.startswith(m + ".") for m in members):
            continue
        if any(m.startswith(mod + ".") for m in members):  # a package whose modules are placed one by one
            continue
        loose.append(mod)
    assert not loose, f"modules in no layer of pyproject's import-linter contract: {loose}"
