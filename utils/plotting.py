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
    mpl.rcParams.update(
        {
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
        }
    )


def label(ax, title: str, xlabel: str, ylabel: str) -> None:
    """Give an axis its title and axis labels in one line (every course figure has all three)."""
    if not (title and xlabel and ylabel):
        raise ValueError("every course figure needs a title, an x label and a y label")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def reliability_diagram(
    ax,
    p_hat,
    y,
    n_bins: int = 10,
    label: str | None = None,
    *,
    strategy: str = "uniform",
    show_diagonal: bool = True,
    marker: str = "o",
):
    """Draw a reliability diagram on ``ax``: observed frequency against mean forecast, per bin.

    Points are the non-empty bins of :func:`utils.calibration.reliability_curve` (marker area
    grows with the bin's count); the dashed diagonal is perfect calibration. Call it once per
    model on the same axis to compare models; ``label`` names the model in the legend. Sets the
    title and axis labels only when the axis has none yet. Returns the curve
    ``(mean_pred, freq, count)``.
    """
    import numpy as np

    from utils.calibration import reliability_curve

    mean_pred, freq, count = reliability_curve(
        p_hat, y, n_bins=n_bins, strategy=strategy
    )
    if show_diagonal and not getattr(ax, "_course_diagonal", False):
        ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="perfect calibration")
        ax._course_diagonal = True
    sizes = 15 + 85 * np.sqrt(count / count.max())
    (line,) = ax.plot(mean_pred, freq, "-", lw=1.5, label=label)
    ax.scatter(
        mean_pred, freq, s=sizes, color=line.get_color(), marker=marker, zorder=3
    )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    if not ax.get_title():
        ax.set_title("Reliability diagram")
    if not ax.get_xlabel():
        ax.set_xlabel("mean predicted probability in bin")
    if not ax.get_ylabel():
        ax.set_ylabel("observed frequency in bin")
    if label is not None:
        ax.legend(loc="upper left")
    return mean_pred, freq, count
