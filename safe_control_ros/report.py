"""The demo's report: plots as PNG and a summary table as Markdown."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .control.loop import LoopLog
from .control.lqr import stage_costs
from .control.model import SafeSet, UncertainModel


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
            "safe-set use": float(np.max(usage(safe_set, x))),
            "solve ms p50": float(np.percentile(times[mask], 50)),
            "solve ms p95": float(np.percentile(times[mask], 95)),
            "steps without a new plan": int(np.sum(statuses[mask] != "optimal")),
            "stop steps": int(np.sum(np.isin(statuses[mask], ("stop", "emergency")))),
        }
    return rows


def usage(safe_set: SafeSet, states: np.ndarray) -> np.ndarray:
    """(T,) the share of the safe set each state (T, n) uses: the largest (H x)_i / h_i over
    the state constraints (0 at the origin, 1 on the boundary; h > 0)."""
    P = safe_set.state
    return np.max(P.H @ np.asarray(states).T / P.h[:, None], axis=0)


def write_report(
    out: Path,
    log: LoopLog,
    safe_set: SafeSet,
    Q,
    R,
    x_ref,
    names,
    title: str,
    prior: UncertainModel | None = None,
    period: float = 0.1,
):
    """Write plots and report.md into `out`; returns the summary rows. `prior`: the model
    the controller started from, drawn with the learned bounds; `period`: s per step."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summary(log, safe_set, Q, R, x_ref)
    states, inputs = np.array(log.states[1:]), np.array(log.inputs)
    _plot_states(out / "trajectory.png", log, safe_set, names)
    _plot_margins(out / "margins.png", log, safe_set)
    _plot_eps(out / "eps.png", log, prior, len(log.statuses) * period)
    _plot_times(out / "solve_times.png", log)
    costs = stage_costs(states - x_ref, inputs, Q, R)
    _plot_task(out / "task.png", log, safe_set, costs, x_ref, period)
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
    lines += ["", _reference_line(log, period)] if log.references else []
    lines += [
        "",
        "![trajectory](trajectory.png)",
        "![margins](margins.png)",
        "![eps](eps.png)",
        "![task](task.png)",
        "![solve times](solve_times.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    return rows


def _bounds_line(log: LoopLog, prior: UncertainModel) -> str:
    """The prior's model-error bounds per row, the models put to use and the last learned
    bounds, as sentences."""
    rows_A, rows_B = prior.row_errors
    text = f"Model-error bounds per row (e_y, e_psi, e_v): prior {_rows(rows_A, rows_B)}"
    for t, used_A, used_B in log.models:
        text += f"; at {t:.0f} s, learned {_rows(used_A, used_B)}"
    if not log.models:
        text += "; no learned model tighter yet"
    if log.eps:
        samples, eps_A, eps_B = log.eps[-1]
        text += f". Last fit: {samples:.0f} samples, eps_A {eps_A:.4g}, eps_B {eps_B:.4g}"
    return text + "."


def _reference_line(log: LoopLog, period: float) -> str:
    """The lateral reference in use and the times it changed, as a sentence."""
    e_y = np.array(log.references)[:, 0]
    changes = np.flatnonzero(np.r_[True, e_y[1:] != e_y[:-1]])
    steps = ", ".join(f"{e_y[k]:.3g} m from {k * period:.0f} s" for k in changes)
    return f"Lateral reference in use (chosen from what the bounds certify): {steps}."


def _rows(rows_A, rows_B) -> str:
    fmt = ", ".join
    return f"eps_A ({fmt(f'{v:.3g}' for v in rows_A)}), eps_B ({fmt(f'{v:.3g}' for v in rows_B)})"


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


def _plot_eps(path: Path, log: LoopLog, prior: UncertainModel | None, end: float) -> None:
    """Left: the learned inf-norm bounds over samples, against the prior's. Right: per row,
    the bounds of the model in use over time to `end` s (the prior's until a learned one is
    tighter)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if log.eps:
        samples, eps_A, eps_B = np.array(log.eps).T
        lines = left.loglog(samples, eps_A, "o-", label="eps_A")
        lines += left.loglog(samples, eps_B, "s-", label="eps_B")
        values = (prior.eps_A, prior.eps_B) if prior is not None else ()
        for line, value in zip(lines, values, strict=False):
            left.axhline(value, color=line.get_color(), ls="--", label=f"{line.get_label()} prior")
        left.legend()
    left.set(xlabel="samples", ylabel="error bound (inf-norm)", title="learned error bounds")
    if prior is not None:
        used = [(0.0, *prior.row_errors), *log.models]
        times = [t for t, *_ in used] + [max(end, used[-1][0])]
        for k, (name, style) in enumerate((("eps_A", "-"), ("eps_B", "--"))):
            values = np.array([rows[k] for _, *rows in used])  # (models, n)
            for i, row in enumerate(("e_y", "e_psi", "e_v")):
                series = np.append(values[:, i], values[-1, i])
                right.step(times, series, where="post", ls=style, color=f"C{i}",
                           label=f"{name} row {row}")  # fmt: skip
        right.set_yscale("log")
        right.legend(fontsize=7)
    right.set(xlabel="time (s)", ylabel="bound of the model in use", title="per row, in use")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_task(
    path: Path, log: LoopLog, safe_set: SafeSet, costs: np.ndarray, target, period: float
) -> None:
    """Per 10 s window: the cost per step, the mean e_y with the lateral reference in use
    and the `target` (n,), and the safe set's use (mean and largest)."""
    states = np.array(log.states[1:])
    window = max(1, round(10.0 / period))
    T = len(costs) // window * window
    times = period * window * (np.arange(T // window) + 0.5)

    def per_window(values: np.ndarray) -> np.ndarray:
        return values[:T].reshape(-1, window)

    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(8, 7))
    top.plot(times, per_window(costs).mean(axis=1), "o-")
    top.set(ylabel="cost per step (mean)", title="task cost, offset and safe-set use per 10 s")
    middle.plot(times, per_window(states[:, 0]).mean(axis=1), "o-", label="e_y (mean)")
    if log.references:
        reference = per_window(np.array(log.references)[:, 0])[:, -1]
        middle.step(times, reference, where="mid", label="reference in use")
    middle.axhline(target[0], color="g", ls=":", label="target")
    middle.set(ylabel="e_y (m)")
    middle.legend()
    share = per_window(usage(safe_set, states))
    bottom.plot(times, share.max(axis=1), "o-", label="largest")
    bottom.plot(times, share.mean(axis=1), "s-", label="mean")
    bottom.axhline(1.0, color="r", ls="--")
    bottom.set(xlabel="time (s)", ylabel="share of the safe set", ylim=(0, 1.05))
    bottom.legend()
    for ax in (top, middle, bottom):
        ax.axvline(period * np.sum(log.learning), color="k", lw=0.8, alpha=0.5)
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
