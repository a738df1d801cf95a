"""package.xml matches what the package imports, and the licence is stated alike in
package.xml, setup.py and LICENSE."""

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from test_layering import _imports

ROOT = Path(__file__).resolve().parents[1]
# Python packages with a rosdep key, and those without one on every distribution (pip)
ROSDEP_KEYS = {"numpy": "python3-numpy", "scipy": "python3-scipy", "yaml": "python3-yaml"}
ROSDEP_KEYS |= {"cv2": "python3-opencv"}
PIP_ONLY = {"cvxpy", "clarabel", "osqp", "pybullet", "pybullet_data", "pybullet_utils", "torch"}
PIP_ONLY |= {"rosbags", "matplotlib", "tqdm"}


def _imported() -> set[str]:
    files = [*ROOT.glob("safe_control_ros/**/*.py"), *ROOT.glob("launch/*.py")]
    tops = {n.split(".")[0] for path in files for n in _imports(path) if not n.startswith(".")}
    return tops - set(sys.stdlib_module_names) - {"safe_control_ros"}


def _manifest() -> ET.Element:
    return ET.parse(ROOT / "package.xml").getroot()


def _launched() -> set[str]:
    """Packages whose executables the launch file starts (rviz2), besides this one."""
    text = (ROOT / "launch" / "car.launch.py").read_text()
    return set(re.findall(r'package="(\w+)"', text)) - {"safe_control_ros"}


def test_exec_depends_are_the_imported_and_launched_packages():
    depends = {e.text for e in _manifest().iter("exec_depend")}
    imported = _imported()
    ros = (imported - set(ROSDEP_KEYS) - PIP_ONLY) | _launched()
    assert depends == ros | {ROSDEP_KEYS[name] for name in imported & set(ROSDEP_KEYS)}


def test_licence_is_stated_alike():
    licence = _manifest().findtext("license")
    assert re.search(rf'license="{licence}"', (ROOT / "setup.py").read_text())
    text = (ROOT / "LICENSE").read_text()
    assert licence == "BSD-3-Clause" and text.startswith("BSD 3-Clause License")
