"""PNG chart: core monthly cost per design, stacked by component, against the design document's total."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # the Agg backend is chosen above, before pyplot loads

from chirp.capacity.plan import DESIGN_DOC_CORE_MONTHLY_USD, Plan


def write_chart(plans: list[Plan], path: Path) -> Path:
    """Stacked horizontal bars of core cost (USD/month) by component, one bar per design."""
    components: list[str] = []
    for plan in plans:
        for component in plan.by_component(core=True):
            if component not in components:
                components.append(component)
    names = [plan.design_name for plan in plans]
    figure, axes = plt.subplots(figsize=(11, 1.2 + 0.9 * len(plans)))
    left = [0.0] * len(plans)
    colours = plt.get_cmap("tab20")
    for index, component in enumerate(components):
        widths = [plan.by_component(core=True).get(component, 0.0) / 1e6 for plan in plans]
        axes.barh(names, widths, left=left, label=component, color=colours(index % 20))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.axvline(
        DESIGN_DOC_CORE_MONTHLY_USD / 1e6, color="black", linestyle="--", label="design doc core $561,600 (no media)"
    )
    for row, total in enumerate(left):
        axes.text(total, row, f" ${total:,.2f}M", va="center", fontsize=9)
    axes.invert_yaxis()
    axes.set_xlabel("core cost, million USD per month (list prices, excludes media storage and delivery)")
    axes.set_title(f"{plans[0].scenario.name}: core monthly cost by design")
    axes.set_xlim(0, max(left) * 1.18)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize=8, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
