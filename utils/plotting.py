"""One figure style for the whole course, and small plotting helpers shared by chapters."""
from __future__ import annotations

PALETTE = "colorblind"


def use_course_style() -> None:
    """Apply the course style: seaborn's white grid, a colour-blind-safe palette, crisp figures.

    Called by :func:`utils.core.setup`; safe to call again.
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.titlesize": "medium",
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "figure.constrained_layout.use": True,
    })


def label(ax, title: str, xlabel: str, ylabel: str) -> None:
    """Give an axis its title and axis labels in one line (every course figure has all three)."""
    if not (title and xlabel and ylabel):
        raise ValueError("every course figure needs a title, an x label and a y label")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
