"""Sphinx configuration of the course book. Built by ``python3 course.py book`` (coursetools/book.py),
which writes the page sources into a temporary folder and runs Sphinx with this folder as its
configuration directory. Everything the site needs is bundled: MathJax comes from the
``django-static-mathjax`` package (a plain copy of MathJax 3, no Django needed), the theme's fonts
and scripts from sphinx-book-theme; nothing is fetched at build time or when reading."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

project = "What's in a Score?"
author = "the course authors"
copyright = "the course authors; text CC BY 4.0, code MIT"
html_title = "What's in a Score?"

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx_copybutton"]
exclude_patterns = ["downloads/**", "**.ipynb_checkpoints"]
master_doc = "index"

# Notebooks arrive executed (from the course's execution cache): never execute here.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN
nb_merge_streams = True
# text/markdown outputs (a table shown with IPython's Markdown) are parsed as MyST, which knows
# tables; the default, CommonMark, printed them as raw pipe text
nb_render_markdown_format = "myst"
# the copy button leaves out prompts and outputs; it copies the code alone
copybutton_exclude = ".linenos, .gp, .go"
myst_enable_extensions = [
    "dollarmath",
    "amsmath",
    "colon_fence",
    "deflist",
    "html_image",
    "attrs_inline",
]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# Equations: $$...$$ (label) blocks are numbered by Sphinx; \tag{n} (a paper's own number) and
# equation environments are numbered by MathJax.
numfig = True
math_numfig = True
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"tex": {"tags": "ams"}, "chtml": {"displayAlign": "center"}}

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,  # each chapter has its own download links (clean notebook)
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    "search_bar_text": "Search the book…",
}
# Where the course lives, when the builder says so (COURSE_REPOSITORY_URL): the theme then shows
# a repository button and launch buttons (Binder, Colab) on each chapter. Unset, the book shows
# neither, and the landing page offers the course as one zip instead.
REPOSITORY = os.environ.get("COURSE_REPOSITORY_URL", "").strip()
if REPOSITORY:
    html_theme_options.update(
        {
            "repository_url": REPOSITORY,
            "repository_branch": os.environ.get("COURSE_REPOSITORY_BRANCH", "main"),
            "path_to_docs": "",
            "use_repository_button": True,
            "launch_buttons": {
                "binderhub_url": "https://mybinder.org",
                "colab_url": "https://colab.research.google.com",
                "notebook_interface": "jupyterlab",
            },
        }
    )
html_context = {
    "default_mode": "auto"
}  # follow the reader's light/dark setting (an empty
# mode makes the theme log a console error)
html_static_path = ["static"]
html_css_files = ["course.css"]
html_js_files = ["mathjax-fallback.js", "math-overflow.js"]
html_show_search_summary = False  # summaries fetch() each page: blocked on file:// URLs
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None


def _mathjax_folder() -> Path:
    """MathJax's ``es5`` folder inside the installed ``django-static-mathjax`` package."""
    try:
        import mathjax
    except ImportError:
        raise RuntimeError(
            "the book needs MathJax's files: pip install -r requirements.txt "
            "(package django-static-mathjax)"
        ) from None
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / "tex-chtml.js").is_file():
        raise RuntimeError(
            f"no tex-chtml.js in {folder}: is django-static-mathjax complete?"
        )
    return folder


# tex-chtml.js plus the pieces it loads on demand (TeX extensions, fonts, menu, accessibility)
MATHJAX_PARTS = [
    "tex-chtml.js",
    "input",
    "output/chtml",
    "ui",
    "a11y",
    "adaptors",
    "sre",
]


def copy_mathjax(app, exception) -> None:
    """Bundle MathJax into ``_static/mathjax`` of a successful HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = _mathjax_folder(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


_TAG = re.compile(r"\\tag\*?\{[^{}]*\}")


class TagOutsideSplit(SphinxPostTransform):
    r"""Keep a paper's equation number (``\tag{4}``) in a formula that has line breaks.

    Sphinx wraps a display formula containing ``\\`` in a ``split`` environment, where MathJax
    refuses ``\tag`` (the formula would show an error). This moves the tag after the ``split``,
    which is how amsmath itself numbers a split equation.
    """

    default_priority = 400
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.math_block):
            text = node.astext()
            tags = _TAG.findall(text)
            if (
                node.get("nowrap")
                or node.get("label")
                or len(tags) != 1
                or "\\\\" not in text
                or "\n\n" in text.strip()
            ):
                continue
            body = _TAG.sub("", text).strip()
            node.children = [
                nodes.Text(f"\\[\\begin{{split}}{body}\\end{{split}}{tags[0]}\\]")
            ]
            node["nowrap"] = True


def setup(app):
    _mathjax_folder()  # fail at the start, not after reading every page
    app.connect("build-finished", copy_mathjax)
    app.add_post_transform(TagOutsideSplit)
