"""Files the package carries as package data, found wherever the package is installed (a
checkout, an editable install or ``pip install .``)."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: the JSON schema of the workflow's config (:mod:`tastemap.config` validates with it)
SCHEMA_PATH = Path(str(files("tastemap") / "schemas" / "config.schema.yaml"))
