"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest

# The modules whose docstrings hold examples (>>>).
MODULES = ["pkdot_sk._ot", "pkdot_sk._student", "pkdot_sk._teacher", "pkdot_sk.metrics"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_module_with_examples_is_listed():
    import pathlib

    import pkdot_sk

    root = pathlib.Path(pkdot_sk.__file__).parent
    with_examples = sorted(
        "pkdot_sk." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py") if ">>>" in path.read_text())
    assert with_examples == sorted(MODULES)
