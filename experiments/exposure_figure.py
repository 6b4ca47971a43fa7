"""AP against darkness: a panel per QF, a line per enhancer with its 95% bootstrap CI as a band.

x is each level's measured mean brightness (fraction of full scale, log axis, darker to the right, as the
QF curves get more compressed to the right); DARK FACE's range of frame brightness is shaded. Numbers are
read from the levels' results.json dictionaries through facebench.evaluation.ap_entry; colours and names
follow facebench.plotting, so an enhancer looks the same here as in `facebench report`.
"""
from __future__ import annotations

from typing import Sequence, Tuple

from matplotlib.figure import Figure

from facebench import plotting
from facebench.evaluation import ap_entry
from facebench.experiments.results_markdown import find_run

DARKFACE_BRIGHTNESS = (0.021, 0.054)  # mean brightness of the 10 DARK FACE sample frames (facebench.datasets.synthetic)


def exposure_figure(levels: Sequence[Tuple[float, dict]], iou: float = 0.5, protocol: str = "official") -> Figure:
    """AP@`iou` vs mean brightness.

    Args:
        levels: (measured mean brightness, results.json dictionary) per darkness level, all with the same
            enhancers and QFs.
    """
    first = levels[0][1]
    specs, qfs = first["enhancers"], plotting.qf_order(first["qfs"])
    colors = plotting.enhancer_colors(specs)
    xs = [mean for mean, _ in levels]
    fig, axes = plotting.plt.subplots(1, len(qfs), figsize=(4.0 * len(qfs) + 1.8, 3.6), sharey=True, squeeze=False,
                                      layout="constrained")
    tops = []
    for ax, qf in zip(axes[0], qfs):
        ax.axvspan(*DARKFACE_BRIGHTNESS, color="0.85", lw=0, label="DARK FACE frames")
        for spec in specs:
            entries = [ap_entry(find_run(results, spec, qf)["metrics"], protocol, iou) for _, results in levels]
            ax.plot(xs, [e["ap"] for e in entries], marker="o", ms=4, lw=1.5, color=colors[spec],
                    label=plotting.short_name(spec))
            if all(e["ci"] for e in entries):
                ax.fill_between(xs, [e["ci"][0] for e in entries], [e["ci"][1] for e in entries], color=colors[spec],
                                alpha=0.12, lw=0)
            tops += [e["ci"][1] if e["ci"] else e["ap"] for e in entries]
        ax.set_xscale("log")
        ax.set_xlim(max(xs) * 1.25, min(xs) / 1.25)  # brightest on the left
        ax.set_xticks(xs, [f"{x:.3f}" for x in xs], rotation=45)
        ax.minorticks_off()
        ax.set(xlabel="mean brightness (fraction of full scale)", title=f"QF {qf}")
        ax.grid(alpha=0.3)
    axes[0][0].set(ylabel=f"AP@{iou:g} ({protocol})", ylim=(0, plotting.axis_limit(tops, 0.05)))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside right upper")
    fig.suptitle(f"AP@{iou:g} vs darkness, 95% bootstrap CIs", fontsize=10)
    return fig
