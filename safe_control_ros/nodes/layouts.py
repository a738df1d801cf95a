"""Layouts of the project's std_msgs/Float64MultiArray topics (labels in layout.dim[0])."""

LANE_STATE = ("s", "e_y", "e_psi", "e_v", "curvature_ahead")  # m, m, rad, m/s, 1/m
MODEL = tuple(
    [f"A{i}{j}" for i in range(3) for j in range(3)]
    + [f"B{i}{j}" for i in range(3) for j in range(2)]
    + ["eps_A", "eps_B", "sigma_w0", "sigma_w1", "sigma_w2"]
)  # controller coordinates, row-major; sigma_w per state coordinate
CONTROL_INPUT = ("u_steering", "u_accel")  # applied input in controller coordinates
# /diagnostics status names, "node: component" as diagnostic_updater names them
PLANNER_STATUS = "controller: planner"  # each control tick: plan, fallback, stop, ...
MODEL_STATUS = "controller: model"  # each /model update: accepted or rejected
FIT_STATUS = "estimator: model fit"  # each refit: published, kept or withheld
# perception's estimate, its bound (m, rad, m, rad) and valid (1 or 0)
PERCEPTION = ("e_y", "e_psi", "bound_e_y", "bound_e_psi", "valid")
