"""The README's settings table matches the Settings model, both ways."""

from __future__ import annotations

import re

from pydantic import BaseModel

from conftest import REPO_ROOT
from vademecum.settings import Settings


def leaf_settings(model: type[BaseModel], prefix: str = "VADEMECUM_") -> dict[str, str]:
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.update(leaf_settings(annotation, f"{prefix}{name.upper()}__"))
        else:
            found[f"{prefix}{name.upper()}"] = field.description or ""
    return found


def test_readme_settings_table_matches_the_model():
    readme = (REPO_ROOT / "README.md").read_text()
    documented = dict(re.findall(r"^\| `(VADEMECUM_[A-Z_]+)` \| `[^`]*` \| (.+) \|$", readme, flags=re.MULTILINE))
    assert documented == leaf_settings(Settings)
