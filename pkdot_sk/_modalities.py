"""Privileged modalities: the ``priv_groups`` and ``priv_module`` parameters
read into one column group and one encoder entry per modality, and a
DataFrame X_priv's columns selected by name.

What :class:`~pkdot_sk.PrivilegedTeacher` declares, in one place; its errors
say which group or entry is wrong.
"""

from numbers import Integral

import numpy as np
from torch import nn

# Name of the single privileged modality when priv_groups=None.
SINGLE_MODALITY = "priv"


def string_columns(X_priv):
    """Column names of a DataFrame whose names are all strings, else None."""
    columns = getattr(X_priv, "columns", None)
    if columns is None or not all(isinstance(col, str) for col in columns):
        return None
    return np.asarray(columns, dtype=object)


def _describe(columns, names):
    if names is None:
        return str([int(c) for c in columns])
    return str([str(names[c]) for c in columns])


def _group_columns(label, columns, n_columns, names):
    """Positions of one group's columns; ``label`` names it in errors."""
    kinds = ("a list of column positions, a slice or a list of column names")
    if isinstance(columns, slice):
        positions = np.arange(n_columns)[columns]
    elif isinstance(columns, (str, bytes, Integral)) or not hasattr(columns, "__iter__"):
        raise ValueError(
            f"priv_groups: {label} must be {kinds}; got {columns!r}. Wrap a single column "
            "in a list; to declare one modality of several columns, nest its list: "
            "priv_groups=[[0, 1, 2]]."
        )
    else:
        items = list(columns)
        if items and all(isinstance(item, str) for item in items):
            if names is None:
                raise ValueError(
                    f"priv_groups: {label} selects columns by name ({items}), which needs "
                    "X_priv as a pandas DataFrame with string column names; use column "
                    "positions for an array."
                )
            unknown = [item for item in items if item not in set(names)]
            if unknown:
                raise ValueError(
                    f"priv_groups: {label} names columns {unknown} that X_priv does not "
                    f"have; its columns are {list(names)}."
                )
            if len(set(names)) != len(names):
                raise ValueError(
                    "priv_groups selects columns by name, but X_priv has repeated column "
                    "names; make them unique or use column positions."
                )
            lookup = {name: i for i, name in enumerate(names)}
            positions = np.array([lookup[item] for item in items], dtype=np.int64)
        elif all(isinstance(item, Integral) and not isinstance(item, (bool, np.bool_))
                 for item in items):
            out = [int(i) for i in items if not -n_columns <= int(i) < n_columns]
            if out:
                raise ValueError(
                    f"priv_groups: {label} has column positions {out} out of range for "
                    f"X_priv's {n_columns} columns."
                )
            positions = np.array([int(i) % n_columns for i in items], dtype=np.int64)
        else:
            raise ValueError(
                f"priv_groups: {label} must be {kinds} (not a mix); got {items!r}."
            )
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size == 0:
        raise ValueError(f"priv_groups: {label} selects no column of X_priv.")
    if len(np.unique(positions)) != positions.size:
        raise ValueError(f"priv_groups: {label} lists a column more than once.")
    return positions


def is_drop(entry):
    return isinstance(entry, str) and entry == "drop"


def normalise_priv_groups(priv_groups, n_columns, names):
    """``{modality_name: column positions}`` from the ``priv_groups`` parameter.

    Every column of X_priv must be in exactly one group.
    """
    if priv_groups is None:
        return {SINGLE_MODALITY: np.arange(n_columns, dtype=np.int64)}
    if isinstance(priv_groups, dict):
        bad_keys = [key for key in priv_groups if not isinstance(key, str)]
        if bad_keys:
            raise ValueError(
                f"priv_groups: modality names (the dict's keys) must be strings; got "
                f"{bad_keys}."
            )
        items = list(priv_groups.items())
        labels = [f"group {key!r}" for key, _ in items]
    else:
        items = [(f"priv_{i}", columns) for i, columns in enumerate(priv_groups)]
        labels = [f"priv_groups[{i}]" for i in range(len(items))]
    if not items:
        raise ValueError("priv_groups is empty; use None for a single privileged modality.")
    groups, owner = {}, {}
    for (name, columns), label in zip(items, labels):
        positions = _group_columns(label, columns, n_columns, names)
        shared = [c for c in positions if c in owner]
        if shared:
            raise ValueError(
                f"priv_groups: columns {_describe(shared, names)} are in both "
                f"{owner[shared[0]]} and {label}; each column belongs to one modality."
            )
        owner.update((c, label) for c in positions)
        groups[name] = positions
    uncovered = [c for c in range(n_columns) if c not in owner]
    if uncovered:
        raise ValueError(
            f"priv_groups leaves the X_priv columns {_describe(uncovered, names)} in no "
            "group; every column must belong to one modality. Add them to a group, or drop them "
            "from X_priv (e.g. X_priv[:, kept] or X_priv.drop(columns=...)) if they are "
            "not to be used."
        )
    return groups


def priv_module_entries(spec, names):
    """The ``priv_module`` entry (``spec``) of each privileged modality in
    ``names`` (None: the default encoder; ``"drop"``: left out)."""
    if not names or spec is None:
        return [None] * len(names)
    if isinstance(spec, nn.ModuleDict):
        spec = dict(spec.items())
    elif isinstance(spec, nn.ModuleList):
        spec = list(spec)
    if isinstance(spec, nn.Module):
        if len(names) != 1:
            raise ValueError(
                f"priv_module is a single torch.nn.Module, but priv_groups declares "
                f"{len(names)} privileged modalities {names}; pass a dict "
                "{modality_name: module} or a list with one entry per modality "
                "(None for the default encoder)."
            )
        modules = [spec]
    elif isinstance(spec, dict):
        unknown = [key for key in spec if key not in names]
        if unknown:
            raise ValueError(
                f"priv_module has entries {unknown} that are not privileged modalities; "
                f"the modalities are {names}."
            )
        modules = [spec.get(name) for name in names]
    else:
        if len(spec) != len(names):
            raise ValueError(
                f"priv_module is a list of {len(spec)} entries but priv_groups declares "
                f"{len(names)} privileged modalities {names}; expected one entry per "
                "modality (None for the default encoder)."
            )
        modules = list(spec)
    for name, module in zip(names, modules):
        if module is not None and not isinstance(module, nn.Module) and not is_drop(module):
            raise ValueError(
                f"priv_module entry {name!r} must be None, a torch.nn.Module instance or "
                f"'drop'; got {module!r}."
            )
    return modules


def select_priv_columns(X_priv, names):
    """A DataFrame X_priv, its columns selected by name in the order of fit
    (``names``: the teacher's ``priv_feature_names_in_``, or None)."""
    if names is None or X_priv is None or not hasattr(X_priv, "columns"):
        return X_priv
    columns = list(X_priv.columns)
    missing = [name for name in names if name not in columns]
    extra = [col for col in columns if col not in set(names)]
    if missing or extra:
        raise ValueError(
            "X_priv's column names differ from those seen in fit: "
            + "; ".join(part for part in (
                f"missing {missing}" if missing else "",
                f"unexpected {extra}" if extra else "") if part)
            + "."
        )
    return X_priv[list(names)]


def present_modalities(X_priv, modalities, *, require_each=False, hint=""):
    """Which privileged modalities each row has: (n_samples, n_modalities)
    bool, or None when every row has all of them.

    A modality is missing from a row when all its values there are NaN (all
    its columns, and all steps for sequences): the marker of a signal that
    was not recorded. NaN in some of a modality's values only is a
    ValueError, as is a modality missing from every row when
    ``require_each`` (the training rows: its encoder would learn nothing).
    ``hint`` ends the error of a partly missing modality.
    """
    if not np.isnan(X_priv).any():
        return None
    present = []
    for name, columns in modalities.items():
        block = np.isnan(X_priv[..., columns]).reshape(len(X_priv), -1)
        missing = block.all(axis=1)
        partial = block.any(axis=1) & ~missing
        if partial.any():
            row = int(np.flatnonzero(partial)[0])
            raise ValueError(
                f"X_priv has NaN in some but not all values of modality {name!r} in "
                f"{int(partial.sum())} row(s) (first: row {row}); expected each modality of a "
                "row either recorded (no NaN) or missing as a whole (all its values NaN, the "
                "marker of a signal that was not recorded). Impute the partly missing values, "
                f"or mark the whole modality missing in those rows.{hint}"
            )
        if require_each and missing.all():
            raise ValueError(
                f"X_priv: modality {name!r} is missing (all NaN) in every training row; "
                "expected it recorded in some rows. Drop its columns, or declare it with "
                "priv_module={..., " f"{name!r}: 'drop'" "}."
            )
        present.append(~missing)
    present = np.column_stack(present) if present else np.ones((len(X_priv), 0), dtype=bool)
    return None if present.all() else present
