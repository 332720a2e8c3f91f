"""config.yaml says it documents every key: each field of the assembled settings model
(gateway/settings.py ``Settings``, every section, recursively) must appear in it under
its section, so a key added to a component's settings cannot go undocumented.

The convention: a key is documented by a line ``key: value`` or, for one whose default
should not be written out (a secret, a path that depends on where the code lives), by a
comment ``# key: ...`` whose ``#`` stands where the key would, under its section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel

from gateway.settings import Settings, load_settings

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<comment># )?(?P<key>[a-z_][a-z0-9_]*):(\s|$)")


def model_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every field of ``model`` as a dotted path, its sections' fields included."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from model_keys(annotation, f"{path}.")
        else:
            yield path


def documented_keys(text: str) -> set[str]:
    """The dotted paths of the keys in ``text``, live or commented out by the convention."""
    found: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indentation, key) of the sections around a line
    for line in text.splitlines():
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(key for _, key in stack), match["key"]])
        found.add(path)
        if not match["comment"]:
            stack.append((indent, match["key"]))
    return found


def test_every_setting_is_a_key_of_config_yaml():
    documented = documented_keys(CONFIG.read_text(encoding="utf-8"))

    missing = [key for key in model_keys(Settings) if key not in documented]

    assert missing == [], f"config.yaml does not document: {', '.join(missing)}"


def test_the_live_keys_of_config_yaml_load_and_are_the_defaults_it_claims():
    # Every live key is one the model knows (unknown keys are refused), and the file
    # states the defaults: loading it gives what no file gives.
    # (A default is not validated: a section's validators, such as the SQLite path made
    # absolute beside the code, are run on it here as they are on the file's values.)
    live = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    from_file = load_settings(CONFIG)
    defaults = Settings()

    for section in live:
        model = type(getattr(defaults, section))
        assert getattr(from_file, section).model_dump() == \
            model.model_validate(getattr(defaults, section).model_dump()).model_dump(), section


def test_the_reader_follows_sections_and_the_comment_convention():
    text = ("a:\n  b: 1\n  # c: secret\n  d:\n    e: x\n  # prose: not a key\n"
            "#   indented prose: ignored\nf: 2\n")

    assert documented_keys(text) == {"a", "a.b", "a.c", "a.d", "a.d.e", "a.prose", "f"}
    assert list(model_keys(Settings))[:1] == ["var_dir"]
