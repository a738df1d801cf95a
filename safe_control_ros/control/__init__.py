"""Algorithms of the safe-learning loop: numpy/scipy/cvxpy only, no ROS imports."""
