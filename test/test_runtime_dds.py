"""The Cyclone DDS runtime: nodes in separate processes exchange messages over loopback,
sim time follows /clock, a plain DDS application reads what the runtime publishes, and
SIGINT shuts every process down cleanly.

Cyclone is confined to 127.0.0.1 with unicast discovery, on a domain of its own per test.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from safe_control_ros.runtime import messages as msg

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = (
    "<CycloneDDS><Domain Id='any'><General><Interfaces>"
    "<NetworkInterface address='127.0.0.1'/></Interfaces>"
    "<AllowMulticast>false</AllowMulticast></General>"
    "<Discovery><Peers><Peer address='127.0.0.1'/></Peers>"
    "<ParticipantIndex>auto</ParticipantIndex>"
    "<MaxAutoParticipantIndex>20</MaxAutoParticipantIndex></Discovery>"
    "</Domain></CycloneDDS>"
)
STEERING = 0.2


class Probe:
    """Test node: commands a constant left steer on a 0.1 s timer (sim time when
    use_sim_time) and appends what it sees to the JSON-lines file `output`."""

    def __init__(self, node) -> None:
        self.node = node
        self.out = open(node.declare_parameter("output", "probe.jsonl").value, "a")  # noqa: SIM115
        self.drive = node.create_publisher(msg.AckermannDriveStamped, "/drive", 10)
        node.create_subscription(msg.Float64MultiArray, "/lane_state", self.on_lane, 10)
        node.create_timer(0.1, self.on_tick)

    def _write(self, **record) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def on_lane(self, lane) -> None:
        self._write(e_y=float(lane.data[1]))

    def on_tick(self) -> None:
        t = self.node.get_clock().now().nanoseconds * 1e-9
        self.drive.publish(msg.ackermann(t, STEERING, 0.0, 1.5))
        self._write(tick=t)

    def destroy(self) -> None:
        self._write(destroyed=True)
        self.out.close()


def _domain(offset: int) -> int:
    return 20 + (os.getpid() % 70) * 3 + offset  # 20..229, distinct per run and test


def _env(domain: int) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), str(ROOT / "test"), os.environ.get("PYTHONPATH", "")])
    return os.environ | {
        "CYCLONEDDS_URI": LOOPBACK,
        "ROS_DOMAIN_ID": str(domain),
        "PYTHONPATH": path,
        "PYTHONUNBUFFERED": "1",
    }


def _start(tmp_path: Path, domain: int, name: str, *args: str) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "safe_control_ros.runtime.dds", *args, "--name", name],
        cwd=ROOT,
        env=_env(domain),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(processes: list[subprocess.Popen]) -> list[int | None]:
    """SIGINT every process; return codes (None for one that had to be killed)."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    codes = []
    for proc in processes:
        try:
            codes.append(proc.wait(timeout=10))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            codes.append(None)
    return codes


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    _stop(started)  # also after a failed assertion: never leave a process behind


# A DDS application with no project code: its own IDL for the ROS 2 message.
from cyclonedds.idl import IdlStruct  # noqa: E402
from cyclonedds.idl.annotations import final  # noqa: E402
from cyclonedds.idl.types import float32, int32, uint32  # noqa: E402


@dataclass
@final
class PlainTime(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
@final
class PlainHeader(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: PlainTime = field(default_factory=PlainTime)
    frame_id: str = ""


@dataclass
@final
class PlainDrive(IdlStruct, typename="ackermann_msgs::msg::dds_::AckermannDrive_"):
    steering_angle: float32 = 0.0
    steering_angle_velocity: float32 = 0.0
    speed: float32 = 0.0
    acceleration: float32 = 0.0
    jerk: float32 = 0.0


@dataclass
@final
class PlainDriveStamped(IdlStruct, typename="ackermann_msgs::msg::dds_::AckermannDriveStamped_"):
    header: PlainHeader = field(default_factory=PlainHeader)
    drive: PlainDrive = field(default_factory=PlainDrive)


def test_sim_and_probe_processes_drive_the_car_over_dds(tmp_path, processes, monkeypatch):
    from cyclonedds.core import Policy, Qos
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    domain = _domain(0)
    output = tmp_path / "probe.jsonl"
    processes.append(
        _start(
            tmp_path,
            domain,
            "sim",
            "safe_control_ros.nodes.sim_node:SimNode",
            "--params-file",
            "config/car.yaml",
        )
    )
    processes.append(
        _start(
            tmp_path,
            domain,
            "probe",
            "test_runtime_dds:Probe",
            "-p",
            "use_sim_time:=true",
            "-p",
            f"output:={output}",
        )
    )

    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK)
    participant = DomainParticipant(domain)
    topic = Topic(participant, "rt/drive", PlainDriveStamped)
    qos = Qos(
        Policy.Reliability.Reliable(0), Policy.DataRepresentation(use_cdrv0_representation=True)
    )
    reader = DataReader(participant, topic, qos)

    received: list[PlainDriveStamped] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        received += [s for s in reader.take(10) if isinstance(s, PlainDriveStamped)]
        records = _records(output)
        e_y = [r["e_y"] for r in records if "e_y" in r]
        if len(received) >= 3 and e_y and e_y[-1] > 0.05:
            break
        assert all(p.poll() is None for p in processes), "a node process died"
        time.sleep(0.05)
    matched = [reader.get_matched_publication_data(h) for h in reader.get_matched_publications()]
    codes = _stop(processes)
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("sim", "probe")}

    # the plain subscriber decoded the runtime's commands
    assert len(received) >= 3, logs
    last = received[-1]
    assert last.drive.steering_angle == pytest.approx(STEERING)
    assert last.drive.speed == pytest.approx(1.5)
    assert last.header.frame_id == "base_link"
    # ... and the writer announced the ROS 2 type hash as rmw_cyclonedds does
    assert len(matched) == 1
    user_data = matched[0].qos[Policy.Userdata].data
    expected = msg.TYPESTORE.hash_rihs01("ackermann_msgs/msg/AckermannDriveStamped")
    assert user_data == f"typehash={expected};".encode()
    assert matched[0].type_name == "ackermann_msgs::msg::dds_::AckermannDriveStamped_"

    # the sim steered left on the probe's commands; the probe's timer ran on sim time
    records = _records(output)
    assert max(r["e_y"] for r in records if "e_y" in r) > 0.05, logs
    ticks = [r["tick"] for r in records if "tick" in r]
    assert ticks and 0 < ticks[0] < 60 and ticks == sorted(ticks)  # sim seconds, not epoch
    stamps = [last.header.stamp.sec + 1e-9 * last.header.stamp.nanosec]
    assert 0 < stamps[0] < 60

    # SIGINT: both processes destroyed their nodes and exited with status 0
    assert codes == [0, 0], logs
    assert records[-1] == {"destroyed": True}
    assert "shutting down" in logs["sim"] and "shutting down" in logs["probe"]


def test_cli_rejects_unknown_parameters_and_bad_class_names(tmp_path):
    env = _env(_domain(1))
    run = [sys.executable, "-m", "safe_control_ros.runtime.dds"]
    bad_param = subprocess.run(
        [*run, "test_runtime_dds:Probe", "--name", "probe", "-p", "outptu:=x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad_param.returncode == 2
    assert "unknown parameter(s) ['outptu']" in bad_param.stderr
    bad_class = subprocess.run(
        [*run, "test_runtime_dds:NoSuchNode", "--name", "x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad_class.returncode == 2 and "cannot load" in bad_class.stderr


def test_topic_names_map_to_ros2_dds_names():
    from safe_control_ros.runtime.dds import dds_topic, qos_policies

    assert dds_topic("/camera/image_raw") == "rt/camera/image_raw"
    assert dds_topic("drive") == "rt/drive"
    with pytest.raises(ValueError, match="invalid topic"):
        dds_topic("/a//b")
    with pytest.raises(ValueError, match="depth"):
        qos_policies(0, "rosgraph_msgs/msg/Clock")
