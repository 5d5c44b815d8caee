"""Hyper-parameters are declared once, on the model class (tastemap.models.params), and the
config schema's model families are generated from the classes (tastemap.models.schema): the
committed schema must be the generated one, and a change on either side is caught."""
from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tastemap.config import SCHEMA_PATH, resolve
from tastemap.models import registry
from tastemap.models import schema as model_schema
from tastemap.models.base import Recommender
from tastemap.models.params import RUNTIME, Param, declared
from tastemap.models.space import Choice, Int

REPO = Path(__file__).resolve().parents[1]


def committed() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def test_committed_schema_is_generated_from_the_classes():
    text = committed()
    assert model_schema.update(text) == text, (
        "src/tastemap/schemas/config.schema.yaml: the model families differ from the classes; run "
        "`python -m tastemap.models.schema` (and `python -m tastemap.config readme > "
        "config/README.md`)")


def test_every_family_and_only_those_are_generated():
    sections = yaml.safe_load(committed())["properties"]["models"]["properties"]
    generated = model_schema.families_schema(["artist", "song"])
    assert list(generated) == list(registry.FAMILIES)
    for name in registry.FAMILIES:
        assert sections[name] == generated[name], name
    families = [k for k, s in sections.items() if "enabled" in s.get("properties", {})]
    assert families == list(registry.FAMILIES)


@pytest.mark.parametrize("name", sorted(registry.FAMILIES))
def test_declarations_match_the_constructor(name):
    """Every constructor argument but the workflow's own (seed, threads) is declared, with a
    default and a type; the sweepable keys are the declared ones with a prefix."""
    cls = registry.get(name)
    args = [a for a in inspect.signature(cls.__init__).parameters if a != "self"]
    hps = declared(cls)
    assert sorted(hps) == sorted(a for a in args if a not in RUNTIME)
    assert cls.sweep_prefixes == {k: h.param.sweep for k, h in hps.items() if h.param.sweep}
    assert cls.description
    for key, h in hps.items():
        entry = model_schema.param_schema(h)
        jsonschema.validate(h.config_default, entry)  # the config default is valid
        jsonschema.validate(h.default, entry)  # the constructor default too
        if h.param.sweep:
            assert entry["default"] == h.config_default and "array" in entry["type"], key


@pytest.mark.parametrize("name", sorted(registry.FAMILIES))
def test_search_space_stays_inside_the_declared_ranges(name):
    """What the validation search may choose is a value the config accepts. (An exclusive
    bound may equal the search's end: p3alpha's and rp3beta's alpha search from 0.0, where the
    config refuses 0; Optuna draws a float there with probability 0.)"""
    cls = registry.get(name)
    hps = declared(cls)
    for key, dim in cls.search_space.items():
        assert key in hps, f"{name}.search_space[{key!r}] is no declared hyper-parameter"
        p, types = hps[key].param, hps[key].types
        if isinstance(dim, Choice):
            allowed = p.choices if p.choices is not None else ((False, True)
                                                               if "boolean" in types else None)
            assert allowed is not None and set(dim.values) <= set(allowed), (name, key)
            continue
        assert ("integer" if isinstance(dim, Int) else "number") in types, (name, key)
        for low in (p.minimum, p.exclusive_minimum):
            assert low is None or dim.low >= low, (name, key)
        for high in (p.maximum, p.exclusive_maximum):
            assert high is None or dim.high <= high, (name, key)


def test_resolved_defaults_are_the_declared_ones():
    """The config's defaults (what the workflow fits) are the constructors', listed where the
    declaration says so; item2vec's factors were 32 in the constructor and [16] in the schema
    before the schema was generated (the workflow's 16 was kept)."""
    models = resolve({})["models"]
    for name, cls in registry.specs().items():
        for key, h in declared(cls).items():
            assert models[name][key] == h.config_default, f"models.{name}.{key}"
            assert type(models[name][key]) is type(h.config_default), f"models.{name}.{key}"
    assert models["item2vec"]["factors"] == [16] == [registry.get("item2vec")().factors]
    assert models["lda"]["k"] == [8, 32]  # a sweep by default (grid), the constructor's k is 8
    assert models["ease"]["l2"] == [500] and isinstance(models["ease"]["l2"][0], int)


# ---- drift is caught ---------------------------------------------------------------------------


def test_a_hand_edit_of_the_generated_lines_is_caught():
    text = committed()
    start = text.index("\n      item2vec:\n")
    edited = text[:start] + text[start:].replace("default: [16]", "default: [32]", 1)
    assert edited != text
    assert model_schema.update(edited) == text


def test_a_change_on_the_class_is_caught(monkeypatch):
    cls = registry.get("item2vec")
    text = committed()
    factors = cls.hyperparameters["factors"]
    monkeypatch.setitem(cls.hyperparameters, "factors", dataclasses.replace(factors, minimum=2))
    assert model_schema.update(text) != text
    monkeypatch.setitem(cls.hyperparameters, "factors", factors)
    signature = inspect.signature(cls.__init__)
    changed = signature.replace(parameters=[
        p.replace(default=32) if p.name == "factors" else p
        for p in signature.parameters.values()])
    monkeypatch.setattr(cls.__init__, "__signature__", changed, raising=False)
    new = model_schema.update(text)
    assert new != text and "default: [32]" in new[new.index("\n      item2vec:\n"):]


def test_the_command_checks_and_rewrites(tmp_path):
    schema = tmp_path / "config.schema.yaml"
    schema.write_text(committed().replace("default: [16]", "default: [17]"), encoding="utf-8")
    run = [sys.executable, "-m", "tastemap.models.schema", "--schema", str(schema)]
    out = subprocess.run([*run, "--check"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 1 and "out of date" in out.stdout, out.stdout + out.stderr
    subprocess.run(run, check=True, capture_output=True, cwd=REPO)
    assert schema.read_text(encoding="utf-8") == committed()


def test_the_schema_needs_its_markers():
    with pytest.raises(ValueError, match="needs the lines"):
        model_schema.update(committed().replace(model_schema.END, "# gone"))


# ---- declarations that contradict the constructor are refused ----------------------------------


def test_a_declaration_without_its_constructor_argument_is_refused():
    with pytest.raises(TypeError, match="has no argument beta with a default"):
        class Bad(Recommender):  # noqa: F841
            hyperparameters = {"beta": Param("Nothing.")}

            def __init__(self, alpha: float = 1.0):
                self.alpha = alpha


def test_sweep_prefixes_and_hyperparameters_are_not_both_declared():
    with pytest.raises(TypeError, match="declare sweepable keys once"):
        class Twice(Recommender):  # noqa: F841
            hyperparameters = {"alpha": Param("Exponent.", sweep="a")}
            sweep_prefixes = {"alpha": "a"}

            def __init__(self, alpha: float = 1.0):
                self.alpha = alpha


def test_an_undeclared_argument_and_a_runtime_one_are_refused():
    class Undeclared(Recommender):
        hyperparameters = {"alpha": Param("Exponent.", sweep="a", grid=True)}

        def __init__(self, alpha: float = 1.0, beta: int = 2, random_state: int = 0):
            self.alpha, self.beta = alpha, beta

    assert Undeclared.sweep_prefixes == {"alpha": "a"}
    with pytest.raises(TypeError, match="beta not declared"):
        declared(Undeclared)
    with pytest.raises(TypeError, match="set by the workflow"):
        class Runtime(Recommender):  # noqa: F841
            hyperparameters = {"random_state": Param("Seed.")}

            def __init__(self, random_state: int = 0):
                self.random_state = random_state
    with pytest.raises(TypeError, match="needs sweep"):
        Param("Exponent.", grid=True)
    with pytest.raises(TypeError, match="annotate it as int"):
        class Listy(Recommender):
            hyperparameters = {"sizes": Param("Sizes.")}

            def __init__(self, sizes: list = ()):  # noqa: B006
                self.sizes = sizes

        declared(Listy)
