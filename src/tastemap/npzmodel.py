"""Fitted scikit-learn estimators saved as one ``.npz`` file, without pickle.

A ``model.npz`` holds named numpy arrays and one JSON string (``__params__``): for each
estimator its name, class and ``get_params()``, and the names of its fitted attributes (those
ending in ``_``: numpy arrays, numbers, scipy CSR matrices), plus any extra arrays and
parameters the caller adds. :func:`load` reads it with ``np.load(..., allow_pickle=False)`` and
rebuilds each estimator from its class - looked up in the ``classes`` the caller allows, never
imported by name - its parameters and its arrays. A pickled file (the joblib files of
earlier versions) or an ``.npz`` holding object arrays is refused with a message naming the
file. Fitted attributes that are neither arrays, numbers nor CSR matrices (e.g. the
``RandomState`` of a fitted ``LatentDirichletAllocation``, which its ``transform`` does not
use) are not saved.

>>> import io
>>> from sklearn.preprocessing import Normalizer
>>> buf = io.BytesIO()
>>> save(buf, [("l2", Normalizer().fit(np.ones((2, 3))))], arrays={"x": np.arange(3)},
...      params={"method": "demo"})
>>> steps, arrays, params = load(io.BytesIO(buf.getvalue()), {"Normalizer": Normalizer})
>>> steps[0][0], steps[0][1].n_features_in_, arrays["x"].tolist(), params["method"]
('l2', 3, [0, 1, 2], 'demo')
"""
from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

FORMAT = "tastemap-npz-model"
VERSION = 1


def _fitted(est: Any) -> dict[str, Any]:
    """The fitted attributes of ``est`` that can be stored as arrays (see the module doc)."""
    out = {}
    for key, value in vars(est).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, (np.ndarray, numbers.Number, np.generic)) or sp.issparse(value):
            out[key] = value
    return out


def save(path: str | Path | IO[bytes], estimators: list[tuple[str, Any]],
         arrays: dict[str, np.ndarray] | None = None, params: dict | None = None) -> None:
    """Write ``estimators`` (name, fitted estimator), extra ``arrays`` and JSON-able ``params``
    to one ``.npz`` (``path`` is written as given: no suffix is added)."""
    out: dict[str, np.ndarray] = {}
    steps = []
    for name, est in estimators:
        kinds = {}
        for key, value in _fitted(est).items():
            prefix = f"{name}/{key}"
            if sp.issparse(value):
                csr = sp.csr_matrix(value)
                out |= {f"{prefix}/data": csr.data, f"{prefix}/indices": csr.indices,
                        f"{prefix}/indptr": csr.indptr, f"{prefix}/shape": np.array(csr.shape)}
                kinds[key] = "csr"
            else:
                out[prefix] = np.asarray(value)
                kinds[key] = "scalar" if np.ndim(value) == 0 else "array"
        steps.append({"name": name, "class": type(est).__name__, "params": est.get_params(),
                      "attributes": kinds})
    for key, value in (arrays or {}).items():
        out[f"arrays/{key}"] = np.asarray(value)
    meta = {"format": FORMAT, "version": VERSION, "steps": steps, "params": params or {}}
    if isinstance(path, (str, Path)):
        with open(path, "wb") as fh:
            np.savez(fh, __params__=np.array(json.dumps(meta)), **out)
    else:
        np.savez(path, __params__=np.array(json.dumps(meta)), **out)


def _open(path: str | Path | IO[bytes]) -> tuple[Any, dict]:
    """The arrays of a model file and its metadata; refuses anything else with a clear error."""
    where = getattr(path, "name", path) if not isinstance(path, (str, Path)) else path
    try:
        z = np.load(path, allow_pickle=False)
    except ValueError as exc:  # a pickle (joblib files of earlier versions) or not numpy at all
        raise ValueError(f"{where}: not a model.npz ({exc}); pickled models are not read any "
                         f"more - rerun the rule that writes it") from None
    if not hasattr(z, "files") or "__params__" not in z.files:
        raise ValueError(f"{where}: not a tastemap model.npz (no __params__ entry)")
    try:
        meta = json.loads(str(z["__params__"]))
    except ValueError as exc:
        raise ValueError(f"{where}: unreadable __params__ ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"{where}: format {meta.get('format')!r} version {meta.get('version')!r}"
                         f", expected {FORMAT!r} version {VERSION}")
    return z, meta


def load(path: str | Path | IO[bytes], classes: dict[str, type]
         ) -> tuple[list[tuple[str, Any]], dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save`: ``(estimators, arrays, params)``.

    ``classes`` maps the class names the caller accepts to the classes; any other class in the
    file is an error (nothing is imported by name). Estimators come back fitted: constructed
    with their saved parameters, their fitted attributes set from the arrays.
    """
    z, meta = _open(path)
    where = getattr(path, "name", path) if not isinstance(path, (str, Path)) else path
    estimators = []
    try:
        for step in meta["steps"]:
            if step["class"] not in classes:
                raise ValueError(f"{where}: step {step['name']!r} is a {step['class']}, not one "
                                 f"of {sorted(classes)}")
            est = classes[step["class"]](**step["params"])
            for key, kind in step["attributes"].items():
                prefix = f"{step['name']}/{key}"
                if kind == "csr":
                    value = sp.csr_matrix((z[f"{prefix}/data"], z[f"{prefix}/indices"],
                                           z[f"{prefix}/indptr"]),
                                          shape=tuple(z[f"{prefix}/shape"]))
                else:
                    value = z[prefix].item() if kind == "scalar" else z[prefix]
                setattr(est, key, value)
            estimators.append((step["name"], est))
        arrays = {f[len("arrays/"):]: z[f] for f in z.files if f.startswith("arrays/")}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{where}: holds pickled (object) arrays; refused") from None
        raise
    return estimators, arrays, meta["params"]
