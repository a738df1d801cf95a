"""The demo's report: plots as PNG and a summary table as Markdown."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .control.loop import LoopLog
from .control.lqr import stage_costs
from .control.model import SafeSet


def summary(log: LoopLog, safe_set: SafeSet, Q, R, x_ref) -> dict[str, float]:
    """Violations, cost and solve-time percentiles of a run, per phase that ran."""
    states, inputs = np.array(log.states), np.array(log.inputs)
    learning = np.array(log.learning)
    times = 1e3 * np.array(log.solve_times)
    statuses = np.array(log.statuses)
    rows = {}
    for phase, mask in (("learning", learning), ("operation", ~learning)):
        if not mask.any():
            continue
        x, u = states[1:][mask], inputs[mask]
        rows[phase] = {
            "steps": int(mask.sum()),
            "violations": safe_set.violations(x, u),
            "cost per step": float(np.mean(stage_costs(x - x_ref, u, Q, R))),
            "solve ms p50": float(np.percentile(times[mask], 50)),
            "solve ms p95": float(np.percentile(times[mask], 95)),
            "steps without a new plan": int(np.sum(statuses[mask] != "optimal")),
            "stop steps": int(np.sum(np.isin(statuses[mask], ("stop", "emergency")))),
        }
    return rows


def write_report(
    out: Path, log: LoopLog, safe_set: SafeSet, Q, R, x_ref, names, title: str, prior=None
):
    """Write plots and report.md into `out`; returns the summary rows. `prior`: the
    prior's (eps_A, eps_B), drawn with the learned bounds."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summary(log, safe_set, Q, R, x_ref)
    _plot_states(out / "trajectory.png", log, safe_set, names)
    _plot_margins(out / "margins.png", log, safe_set)
    _plot_eps(out / "eps.png", log, prior)
    _plot_times(out / "solve_times.png", log)
    keys = list(next(iter(rows.values())))
    lines = [
        f"# {title}",
        "",
        "| phase | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for phase, row in rows.items():
        cells = [f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k]) for k in keys]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += ["", _bounds_line(log, prior)] if prior is not None else []
    lines += [
        "",
        "![trajectory](trajectory.png)",
        "![margins](margins.png)",
        "![eps](eps.png)",
        "![solve times](solve_times.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    return rows


def _bounds_line(log: LoopLog, prior) -> str:
    """The prior's model-error bounds and the last learned ones, as a sentence."""
    text = f"Model-error bounds: prior eps_A {prior[0]:.4g}, eps_B {prior[1]:.4g}"
    if not log.eps:
        return text + "; none learned yet."
    samples, eps_A, eps_B = log.eps[-1]
    return text + f"; learned from {samples:.0f} samples eps_A {eps_A:.4g}, eps_B {eps_B:.4g}."


def _plot_states(path: Path, log: LoopLog, safe_set: SafeSet, names) -> None:
    states = np.array(log.states)
    lower, upper = safe_set.state.bounding_box
    fig, axes = plt.subplots(len(names), 1, sharex=True, figsize=(8, 2 * len(names)))
    for i, ax in enumerate(axes):
        ax.plot(states[:, i], lw=0.8)
        ax.axhline(lower[i], color="r", ls="--")
        ax.axhline(upper[i], color="r", ls="--")
        ax.set_ylabel(names[i])
    _mark_learning(axes, log)
    axes[-1].set_xlabel("step")
    fig.suptitle("trajectory and safe set")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_margins(path: Path, log: LoopLog, safe_set: SafeSet) -> None:
    x_margin = safe_set.state.margins(np.array(log.states[1:])).min(axis=1)
    u_margin = safe_set.inputs.margins(np.array(log.inputs)).min(axis=1)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(x_margin, lw=0.8, label="state")
    ax.plot(u_margin, lw=0.8, label="input")
    ax.axhline(0.0, color="r", ls="--")
    _mark_learning([ax], log)
    ax.set(xlabel="step", ylabel="smallest constraint margin", title="constraint margins")
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_eps(path: Path, log: LoopLog, prior) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if log.eps:
        samples, eps_A, eps_B = np.array(log.eps).T
        lines = ax.loglog(samples, eps_A, "o-", label="eps_A")
        lines += ax.loglog(samples, eps_B, "s-", label="eps_B")
        for line, value in zip(lines, prior or (), strict=False):
            ax.axhline(value, color=line.get_color(), ls="--", label=f"{line.get_label()} prior")
        ax.legend()
    ax.set(xlabel="samples", ylabel="error bound (inf-norm)", title="learned error bounds")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_times(path: Path, log: LoopLog) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(1e3 * np.array(log.solve_times), bins=40)
    ax.set(xlabel="solve time (ms)", ylabel="steps", title="robust SLS solve times")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _mark_learning(axes, log: LoopLog) -> None:
    end = int(np.sum(log.learning))
    for ax in axes:
        ax.axvline(end, color="k", lw=0.8, alpha=0.5)
