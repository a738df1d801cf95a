"""Estimator faults: bad /model updates are rejected by the controller, which keeps its
trusted model and drives on; the estimator withholds such models itself. In-process,
lockstep, seeded."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_fault_solver import CAR, Probe, drive, violations

from safe_control_ros.control.lqr import lqr
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes import model_update
from safe_control_ros.nodes.builds import Builds
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.estimator_node import EstimatorNode
from safe_control_ros.nodes.qos import LATCHED, RELIABLE
from safe_control_ros.nodes.statuses import FIT_STATUS, MODEL_STATUS, PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Node, Runtime
from safe_control_ros.sim.lane_model import controller_instance

PRIOR = controller_instance(CAR).model


def _model(**changes) -> UncertainModel:
    """The prior with fields replaced (A, B, eps_A, eps_B, sigma_w)."""
    fields = {k: getattr(PRIOR, k) for k in ("A", "B", "eps_A", "eps_B", "sigma_w")}
    return UncertainModel(**(fields | changes))


def _with(fields: dict | None = None, **changes):
    """The /model message of `_model(**changes)` with message fields replaced by `fields`
    (a message gone wrong: sizes and values the model itself would refuse)."""
    message = model_update.encode(0.0, _model(**changes))
    for name, value in (fields or {}).items():
        setattr(message, name, value)
    return message


TIGHTER = {"eps_A": 0.9 * PRIOR.eps_A, "eps_B": 0.9 * PRIOR.eps_B}
NAN_A = np.where(np.arange(9) == 4, np.nan, PRIOR.A.ravel())
BAD_UPDATES = {  # name: (message, what the rejection says)
    "nan": (_with({"a": NAN_A}, **TIGHTER), "expected finite numbers"),
    "short": (_with({"sigma_w": PRIOR.sigma_w[:2]}, **TIGHTER), "sigma_w: expected 3 values"),
    "long": (_with({"a": np.zeros(10)}, **TIGHTER), "a: expected 9 values, got 10"),
    "negative bound": (_with({"eps_a": -PRIOR.eps_A}), "eps_A: expected a value in"),
    "negative noise": (
        _with({"sigma_w": PRIOR.sigma_w * [1, -1, 1]}),
        "sigma_w: expected values >= 0",
    ),
    "bounds grow": (_with(eps_A=2 * PRIOR.eps_A), "bounds grow: (eps_A, eps_B) per row"),
    "noise grows": (_with(**TIGHTER, sigma_w=PRIOR.sigma_w * [1, 1.1, 1]), "bounds grow"),
    "unstable": (_with(**TIGHTER, A=1.1 * PRIOR.A), "unstable: spectral radius"),
    "ill-conditioned": (
        _with(**TIGHTER, B=PRIOR.B * [1e-3, 1.0]),
        "ill-conditioned: controllability condition number",
    ),
    "inconsistent": (
        _with(**TIGHTER, B=PRIOR.B + np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.05]])),
        "inconsistent with the trusted model: row 2 of B - B_trusted",
    ),
}


class ModelSender:
    """Publishes /model messages at given times {t s: message} (an estimator gone wrong)."""

    def __init__(self, node, schedule: dict) -> None:
        self.node, self.schedule = node, dict(schedule)
        self.pub = node.create_publisher(msg.UncertainModel, "/model")
        node.create_timer(0.05, self.on_tick)

    def on_tick(self) -> None:
        t = round(self.node.get_clock().now().nanoseconds * 1e-9, 3)
        if t in self.schedule:
            self.pub.publish(self.schedule.pop(t))


def test_controller_rejects_bad_model_updates_and_keeps_the_trusted_model():
    # every bad update, then a good (tighter) one, then the prior again (grown bounds)
    times = [1.0 + 0.5 * i for i in range(len(BAD_UPDATES) + 2)]
    values = [v for v, _ in BAD_UPDATES.values()] + [_with(**TIGHTER), _with()]
    schedule = dict(zip(times, values, strict=True))

    class Graph(ControllerNode):
        def __init__(self, node) -> None:
            super().__init__(node)
            self.sender = ModelSender(node, schedule)
            self.history: list[UncertainModel] = []  # trusted model after each update
            node.create_subscription(msg.UncertainModel, "/model", self.after_update)

        def after_update(self, _) -> None:
            self.history.append(self.model)

    controller, probe = drive(Graph, duration=1.0 + 0.5 * len(times))
    events = probe.diags[MODEL_STATUS]
    assert len(events) == len(times) == len(controller.history)
    for (name, (_, reason)), (_, level, message, _), trusted in zip(
        BAD_UPDATES.items(), events, controller.history, strict=False
    ):
        assert level == msg.WARN and message.startswith("model rejected: "), name
        assert reason in message, (name, message)
        assert trusted is controller.instance.model, name
    *_, (_, good, _, _), (_, again, grown, _) = events
    assert good == msg.OK
    assert controller.history[-2].eps_A == pytest.approx(0.9 * PRIOR.eps_A)
    assert again == msg.WARN and "bounds grow" in grown  # relative to the new trusted model
    assert controller.model is controller.history[-2]
    assert {status for _, _, status, _ in probe.diags[PLANNER_STATUS]} == {"optimal"}
    assert violations(np.array(probe.lanes)) == 0


class StubLearner:
    """Stands in for the estimator's learner: `model()` returns or raises what it is given."""

    samples, last_bounds, last_learned, last_held_out = 500, None, None, None

    def __init__(self, result) -> None:
        self.result = result

    def model(self) -> UncertainModel:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize(
    ("result", "published", "message"),
    [
        (ValueError("A: expected finite numbers, got NaN or inf"), False, "refit failed"),
        (np.linalg.LinAlgError("Singular matrix"), False, "refit failed"),
        (_model(**TIGHTER, A=1.1 * PRIOR.A), False, "unstable"),
        (_model(eps_A=2 * PRIOR.eps_A), False, "kept"),
        (_model(**TIGHTER), True, "published"),
    ],
    ids=["nan-fit", "singular-fit", "unstable", "looser", "good"],
)
def test_estimator_publishes_only_trusted_models(result, published, message):
    runtime = Runtime(parameters(CONFIG / "car.yaml", "oval"))
    estimator = EstimatorNode(runtime.create_node("estimator"))
    estimator.learner = StubLearner(result)
    probe = Probe(runtime.create_node("probe"))
    models: list = []
    runtime.create_node("listener").create_subscription(msg.UncertainModel, "/model", models.append)
    runtime.spin_until(estimator.config.refit_period)
    (_, level, status, _) = probe.diags[FIT_STATUS][0]
    assert message in status
    assert len(models) == int(published)
    assert level == (msg.OK if published or message == "kept" else msg.WARN)
    if published:
        assert model_update.decode(models[0]).eps_A == pytest.approx(TIGHTER["eps_A"])


def test_estimator_publishes_the_learned_disturbance_bound():
    """Transitions of the prior's own nominal model with small, well-excited noise: the
    learned model is tighter; with estimator.disturbance held-out its sigma_w is learned,
    below the prior's, and both it and the held-out factor are on /diagnostics."""
    params = parameters(CONFIG / "car.yaml", "oval")
    params["estimator"] |= {"disturbance": "held-out"}
    runtime = Runtime(params)
    estimator = EstimatorNode(runtime.create_node("estimator"))
    probe = Probe(runtime.create_node("probe"))
    models: list = []
    runtime.create_node("listener").create_subscription(msg.UncertainModel, "/model", models.append)
    rng = np.random.default_rng(0)
    gain = lqr(PRIOR.A, PRIOR.B, np.eye(3), np.eye(2)).K
    x = np.zeros(3)
    for _ in range(400):
        u = -gain @ x + rng.uniform(-0.5, 0.5, 2)
        x_next = PRIOR.A @ x + PRIOR.B @ u + rng.uniform(-0.002, 0.002, 3)
        estimator.learner.add(x, u, x_next)
        x = x_next
    runtime.spin_until(estimator.config.refit_period)
    (_, level, status, values) = probe.diags[FIT_STATUS][0]
    assert (level, status) == (msg.OK, "model published")
    published = model_update.decode(models[0])
    learned = estimator.learner.last_learned
    np.testing.assert_allclose(published.sigma_w, learned.sigma_w)
    assert np.all(published.sigma_w < PRIOR.sigma_w)
    assert np.all(estimator.learner.last_held_out >= 1.0)
    assert {"sigma_w", "held_out_factor"} <= set(values)


def test_estimator_leaves_out_transitions_outside_the_safe_set():
    """A stopping or starting car is far from the model's operating point."""
    runtime = Runtime(parameters(CONFIG / "car.yaml", "oval"))
    estimator = EstimatorNode(runtime.create_node("estimator"))
    source = runtime.create_node("source")
    lane = source.create_publisher(msg.LaneState, "/lane_state")
    applied = source.create_publisher(msg.ControlInput, "/controller/input")
    for k, e_v in enumerate((0.0, 0.1, -1.0, -0.2, 0.0, 0.1)):  # the third is outside
        lane.publish(msg.lane_state(0.1 * k, [0.0, 0.01, 0.0, e_v, 0.0]))
        applied.publish(msg.control_input(0.1 * k, [0.0, 0.1]))
    runtime._deliver()
    assert estimator.learner.samples == 3  # 0 -> 0.1, -0.2 -> 0.0, 0.0 -> 0.1


def test_a_controller_started_later_gets_the_last_model():
    """/model is transient local (as the estimator publishes it): a controller that starts
    (or restarts) after the update still gets it; a volatile subscription does not."""
    runtime = Runtime(parameters(CONFIG / "car.yaml", "oval"))
    estimator = runtime.create_node("estimator")
    pub = estimator.create_publisher(msg.UncertainModel, "/model", LATCHED)
    update = _with(**TIGHTER)
    timer = estimator.create_timer(0.1, lambda: pub.publish(update) or timer.cancel())
    runtime.spin_until(0.5)  # published and delivered at 0.1 s, to nobody
    controller = ControllerNode(runtime.create_node("controller"))
    volatile: list = []
    runtime.create_node("late").create_subscription(
        msg.UncertainModel, "/model", volatile.append, RELIABLE
    )
    runtime.spin_until(1.0)
    assert controller.model.eps_A == pytest.approx(TIGHTER["eps_A"])
    assert volatile == []


def test_builds_run_beside_the_caller_and_come_back_in_order():
    gate = threading.Event()
    builds = Builds(background=True)
    builds.submit("slow", lambda: gate.wait(10.0) and "first")
    builds.submit("broken", lambda: 1 / 0)
    assert builds.finished() == [] and builds.busy  # submit returned; the build waits
    gate.set()
    deadline = time.monotonic() + 10.0
    done: list = []
    while len(done) < 2 and time.monotonic() < deadline:
        done += builds.finished()
        time.sleep(0.01)
    assert done[0] == ("slow", "first")
    assert done[1][0] == "broken" and isinstance(done[1][1], ZeroDivisionError)
    assert not builds.busy
    inline = Builds(background=False)
    inline.submit("now", lambda: 42)
    assert inline.finished() == [("now", 42)]


def test_model_update_is_built_off_the_control_path(monkeypatch):
    """Not lockstep: the new model's planner is built in a worker thread that is held until
    5 more control ticks have run (then simulated time is slowed to 2x real time while it
    builds); every tick meanwhile plans and commands on the trusted model, and a tick after
    the build swaps the new planner in."""
    monkeypatch.setattr(Node, "LOCKSTEP", False)
    schedule = {1.0: _with(**TIGHTER)}

    class Graph(ControllerNode):
        def __init__(self, node) -> None:
            self.ticks, self.held = 0, threading.Event()
            super().__init__(node)
            self.sender = ModelSender(node, schedule)

        def _problem(self, model, learning):
            if model is not self.instance.model:  # the update's build, not the start-up
                assert self.held.wait(10.0), "the control ticks stopped during the build"
            return super()._problem(model, learning)

        def on_tick(self) -> None:
            super().on_tick()
            self.ticks += 1
            if self.builds.busy and self.ticks >= 16:  # 5 ticks after the update at 1.0 s
                self.held.set()
                time.sleep(0.05)  # simulated time runs at most 2x real time meanwhile

    controller, probe = drive(Graph, duration=8.0)
    ((t_accept, level, message, _),) = probe.diags[MODEL_STATUS]
    assert (level, message) == (msg.OK, "model accepted")
    assert t_accept >= 1.5  # not in the /model callback at 1.0 s: after >= 5 more ticks
    assert controller.model.eps_A == pytest.approx(0.9 * PRIOR.eps_A)
    ticks = [t for t, *_ in probe.diags[PLANNER_STATUS]]
    assert np.allclose(np.diff(ticks), 0.1)  # a command every period, build or not
    assert len(probe.drives) == len(ticks)
    assert {status for _, _, status, _ in probe.diags[PLANNER_STATUS]} == {"optimal"}
    assert violations(np.array(probe.lanes)) == 0
