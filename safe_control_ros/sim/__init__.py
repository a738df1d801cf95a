"""The simulated car (the unknown plant) and the car's nominal lane model; no ROS imports.

- `world.CarWorld`: PyBullet world in DIRECT mode: reset, command, step, lane_state,
  camera_image (see its module docstring).
- `config`: `SimConfig` (every world parameter) and `CarModelConfig` (model prior and safe
  set), validated, loaded from the `sim` and `car_model` sections of config/car.yaml.
- `track`: centreline of piecewise-constant curvature and the lane frame (s, e_y, e_psi).
- `car`, `camera`, `command`: the racecar's actuators, the dashboard camera, the command
  input stage (saturation, rejection, watchdog).
- `lane_model`: the linearised kinematic bicycle (A0, B0), prior and safe set.
- `model_error`: measures the error of (A0, B0) on the simulated car.
"""
