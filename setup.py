"""Installs safe_control_ros with colcon (ament_python) or with pip."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "safe_control_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Safe data-driven control of a car from camera images (robust SLS).",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    # safe_control_interfaces' .msg files (safe_control_ros/msg links to them): the message
    # definitions the standalone runtime and the recorder use without ROS 2
    package_data={PACKAGE: ["msg/*.msg"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz")),
    ],
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "cvxpy>=1.5",
        "clarabel>=0.9",
        "osqp>=0.6",
        "pyyaml>=6",
        "rosbags>=0.10",
    ],
    extras_require={
        "sim": ["pybullet>=3.2.5"],
        "report": ["matplotlib>=3.7", "tqdm>=4.60"],
        "perception": ["torch>=2.0", "opencv-python-headless>=4.8"],
        "dev": [
            *("pytest>=8", "pytest-benchmark>=4", "pytest-xdist>=3", "ruff>=0.6", "control>=0.10"),
            *("mypy>=1.10", "types-PyYAML"),
        ],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            f"safe-control-demo = {PACKAGE}.demo:main",
            f"safe-control-launch = {PACKAGE}.launcher:main",
            f"sim_node = {PACKAGE}.nodes.sim_node:main",
            f"camera_node = {PACKAGE}.nodes.camera_node:main",
            f"perception_node = {PACKAGE}.nodes.perception_node:main",
            f"estimator_node = {PACKAGE}.nodes.estimator_node:main",
            f"controller_node = {PACKAGE}.nodes.controller_node:main",
        ]
    },
)
