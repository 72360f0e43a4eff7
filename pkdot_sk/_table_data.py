"""The user's own data for the command line: a CSV, Parquet or NPZ file read
as a table, and its columns chosen by names, ranges and globs.

Column lists are comma-separated items, each a column name, a glob over the
names (``eda_*``, ``au_??``) or an inclusive range of names in the file's
order (``hr_1:hr_9``). Errors name the option and what was expected.
"""

import fnmatch
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Bad data or column options; the message is meant for the user."""


def read_table(path):
    """The file at ``path`` as a pandas DataFrame (by its extension)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"DATA: no file {path}.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise DataError(f"DATA: reading Parquet needs pyarrow or fastparquet ({exc}); "
                            "pip install pyarrow, or convert the file to CSV.") from None
    if suffix == ".npz":
        return _npz_table(path)
    raise DataError(f"DATA: {path.name} is neither CSV, Parquet nor NPZ (by its extension: "
                    ".csv, .tsv, .parquet, .npz).")


def _npz_table(path):
    """An NPZ file as a table: a 1-D array is a column, a 2-D array ``a`` of
    width k the columns ``a_0`` .. ``a_{k-1}``."""
    import pandas as pd

    columns = {}
    with np.load(path, allow_pickle=False) as arrays:
        lengths = {name: len(arrays[name]) for name in arrays.files}
        if len(set(lengths.values())) > 1:
            raise DataError(f"DATA: the arrays of {path.name} have different lengths "
                            f"{lengths}; expected one row per sample in each.")
        for name in arrays.files:
            array = arrays[name]
            if array.ndim == 1:
                columns[name] = array
            elif array.ndim == 2:
                columns.update({f"{name}_{j}": array[:, j] for j in range(array.shape[1])})
            else:
                raise DataError(f"DATA: array {name!r} of {path.name} has {array.ndim} "
                                "dimensions; expected 1 (a column) or 2 (columns).")
    return pd.DataFrame(columns)


def select_columns(frame, spec, option):
    """The column names ``spec`` chooses in ``frame``, in the file's order
    within each item; ``option`` names the command-line option in errors."""
    names = [str(name) for name in frame.columns]
    chosen = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if ":" in item and not any(char in item for char in "*?["):
            first, last = (end.strip() for end in item.split(":", 1))
            for end in (first, last):
                if end not in names:
                    raise DataError(f"{option}: range {item!r} names column {end!r}, which "
                                    f"{_missing(names)}")
            start, stop = names.index(first), names.index(last)
            if start > stop:
                raise DataError(f"{option}: range {item!r} runs backwards; expected "
                                "first:last in the file's column order.")
            matched = names[start:stop + 1]
        elif any(char in item for char in "*?["):
            matched = [name for name in names if fnmatch.fnmatchcase(name, item)]
            if not matched:
                raise DataError(f"{option}: pattern {item!r} matches no column; "
                                f"{_listing(names)}")
        elif item in names:
            matched = [item]
        else:
            raise DataError(f"{option}: column {item!r} {_missing(names)}")
        chosen += [name for name in matched if name not in chosen]
    if not chosen:
        raise DataError(f"{option}: no column chosen; expected names, ranges or globs.")
    return chosen


def _listing(names):
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"the file's columns are {shown}."


def _missing(names):
    return f"is not in the file; {_listing(names)}"


def numeric_block(frame, columns, option):
    """``frame[columns]`` as a float array; non-numeric columns are an error."""
    import pandas as pd

    bad = [name for name in columns
           if not pd.api.types.is_numeric_dtype(frame[name]) or
           pd.api.types.is_bool_dtype(frame[name])]
    if bad:
        raise DataError(f"{option}: column(s) {bad} are not numeric; expected numbers "
                        "(encode categories first).")
    return frame[columns].to_numpy(dtype=np.float64)
