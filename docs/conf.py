"""Sphinx configuration: the API reference generated from the docstrings
(autosummary + numpydoc), the markdown pages through MyST, and a gallery
built by executing ``examples/`` (sphinx-gallery)."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
# The gallery's examples train small networks: one torch thread each.
os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

import pkdot_sk  # noqa: E402

project = "pkdot_sk"
author = "the pkdot_sk developers"
release = pkdot_sk.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json",
                    "sg_execution_times.rst"]
templates_path = ["_templates"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
html_theme = "pydata_sphinx_theme"
html_title = f"pkdot_sk {release}"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # execute every example
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
}
