"""The launch graph, one source for `launch/car.launch.py` and the standalone launcher:
which nodes run and the parameters the launch arguments put on top of the parameter files.

No ROS and no node imports: the ROS 2 launch file imports this module.
"""

from __future__ import annotations

from pathlib import Path

from .paramfile import ALL_NODES, load_parameter_file

CONFIG = Path(__file__).resolve().parents[1] / "config"
NODE_NAMES = ("sim", "camera", "perception", "estimator", "controller")  # start order
#: node name: `module:Class` of its job, for `runtime.ros` (imported only there)
NODE_CLASSES = {
    name: f"safe_control_ros.nodes.{name}_node:{name.title()}Node" for name in NODE_NAMES
}

#: Controller settings for driving on perception: the output-feedback tube fits the map's
#: region at horizon 3 (test_perception_closed_loop).
PERCEPTION_PROFILE = {"state_source": "perception", "horizon": 3}


def parameters(config: Path, track: str, prior: str = "") -> dict[str, dict]:
    """The car config with the track's parameter file (`track_<track>.yaml` next to it)
    and, if `prior` is given, the prior's (`prior_<prior>.yaml`) layered on top:
    {node: {parameter: value}}."""
    params = load_parameter_file(config)
    for layer in layer_names(track, prior):
        for node, values in load_parameter_file(Path(config).parent / layer).items():
            params[node] = params.get(node, {}) | values
    unknown = sorted(set(params) - {ALL_NODES, *NODE_NAMES})
    if unknown:
        raise ValueError(
            f"config: section(s) {unknown} name no node; expected {ALL_NODES!r} or one of "
            f"{list(NODE_NAMES)}"
        )
    return params


def layer_names(track: str, prior: str = "") -> list[str]:
    """The parameter files layered on the car config (found next to it), in order."""
    return [f"track_{track}.yaml"] + ([f"prior_{prior}.yaml"] if prior else [])


def with_perception(params: dict[str, dict], map_path: str | Path) -> dict[str, dict]:
    """`params` with the perception node on the map at `map_path` and the controller on
    its measurements (`PERCEPTION_PROFILE`; bound and region from the config)."""
    return params | {
        "perception": params.get("perception", {}) | {"map_path": str(map_path)},
        "controller": params.get("controller", {}) | PERCEPTION_PROFILE,
    }


def launch_graph(params: dict[str, dict], use_sim: bool = True) -> list[str]:
    """The nodes to launch: the perception node only if the controller uses it."""
    perception = params.get("controller", {}).get("state_source") == "perception"
    skip = {"sim"} if not use_sim else set()
    skip |= set() if perception else {"perception"}
    return [name for name in NODE_NAMES if name not in skip]


def process_overrides(nodes: list[str], use_sim: bool) -> dict[str, dict]:
    """{node: parameters} that each node of `nodes` gets as a ROS 2 process of its own:
    use_sim_time on every node but the sim (`use_sim`: the sim's /clock), which holds its
    world until the others are matched (`start_when_matched`)."""
    return {
        name: {"start_when_matched": True} if name == "sim" else {"use_sim_time": use_sim}
        for name in nodes
    }


def launch_overrides(perception_map: str, use_sim: bool) -> dict[str, dict]:
    """{node to launch: parameters set on top of the files} for the launch arguments
    `perception_map` ('' for none) and `use_sim`: the perception profile, and
    `process_overrides`."""
    overrides = with_perception({}, perception_map) if perception_map else {}
    processes = process_overrides(launch_graph(overrides, use_sim), use_sim)
    return {name: overrides.get(name, {}) | extra for name, extra in processes.items()}
