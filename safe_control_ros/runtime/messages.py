"""ROS 2 message classes and builders that work with and without ROS 2.

With ROS 2 the classes are the installed message packages'; without it they come from
rosbags' typestore (ROS 2 Humble definitions, plus ackermann_msgs from its .msg text and
this project's safe_control_interfaces from its .msg files), with the same names and
fields. Builders fill every field, so node code reads the same against both; numpy arrays
in, numpy arrays out.
"""

from __future__ import annotations

import pathlib

import numpy as np
from scipy.spatial.transform import Rotation

#: safe_control_interfaces' .msg files (the package's msg/ directory, shipped inside
#: safe_control_ros too): the one definition of the project's own messages.
INTERFACES = pathlib.Path(__file__).resolve().parents[1] / "msg"

try:  # ROS 2 message packages
    from ackermann_msgs.msg import AckermannDrive, AckermannDriveStamped
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import (
        Point,
        Pose,
        PoseStamped,
        PoseWithCovariance,
        Quaternion,
        Transform,
        TransformStamped,
        Twist,
        TwistStamped,
        TwistWithCovariance,
        Vector3,
    )
    from nav_msgs.msg import Odometry, Path
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    from safe_control_interfaces.msg import (
        ControlInput,
        LaneState,
        PerceptionMeasurement,
        UncertainModel,
    )

    ROS = True
except ImportError:
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    _ACKERMANN = {
        "ackermann_msgs/msg/AckermannDrive": (
            "float32 steering_angle\nfloat32 steering_angle_velocity\nfloat32 speed\n"
            "float32 acceleration\nfloat32 jerk\n"
        ),
        "ackermann_msgs/msg/AckermannDriveStamped": (
            "std_msgs/Header header\nackermann_msgs/AckermannDrive drive\n"
        ),
    }
    TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
    for _name, _text in _ACKERMANN.items():
        TYPESTORE.register(get_types_from_msg(_text, _name))
    for _file in sorted(INTERFACES.glob("*.msg")):
        _name = f"safe_control_interfaces/msg/{_file.stem}"
        TYPESTORE.register(get_types_from_msg(_file.read_text(), _name))
    _t = TYPESTORE.types
    AckermannDrive = _t["ackermann_msgs/msg/AckermannDrive"]
    AckermannDriveStamped = _t["ackermann_msgs/msg/AckermannDriveStamped"]
    Time = _t["builtin_interfaces/msg/Time"]
    DiagnosticArray = _t["diagnostic_msgs/msg/DiagnosticArray"]
    DiagnosticStatus = _t["diagnostic_msgs/msg/DiagnosticStatus"]
    KeyValue = _t["diagnostic_msgs/msg/KeyValue"]
    Point = _t["geometry_msgs/msg/Point"]
    Pose = _t["geometry_msgs/msg/Pose"]
    PoseStamped = _t["geometry_msgs/msg/PoseStamped"]
    PoseWithCovariance = _t["geometry_msgs/msg/PoseWithCovariance"]
    Quaternion = _t["geometry_msgs/msg/Quaternion"]
    Twist = _t["geometry_msgs/msg/Twist"]
    TwistStamped = _t["geometry_msgs/msg/TwistStamped"]
    TwistWithCovariance = _t["geometry_msgs/msg/TwistWithCovariance"]
    Vector3 = _t["geometry_msgs/msg/Vector3"]
    Transform = _t["geometry_msgs/msg/Transform"]
    TransformStamped = _t["geometry_msgs/msg/TransformStamped"]
    Odometry = _t["nav_msgs/msg/Odometry"]
    Path = _t["nav_msgs/msg/Path"]
    Clock = _t["rosgraph_msgs/msg/Clock"]
    ControlInput = _t["safe_control_interfaces/msg/ControlInput"]
    LaneState = _t["safe_control_interfaces/msg/LaneState"]
    PerceptionMeasurement = _t["safe_control_interfaces/msg/PerceptionMeasurement"]
    UncertainModel = _t["safe_control_interfaces/msg/UncertainModel"]
    Image = _t["sensor_msgs/msg/Image"]
    Header = _t["std_msgs/msg/Header"]
    TFMessage = _t["tf2_msgs/msg/TFMessage"]
    ROS = False


OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


def stamp(t: float) -> Time:
    """builtin_interfaces/Time for t seconds."""
    ns = round(t * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def seconds(time_msg) -> float:
    """Seconds of a builtin_interfaces/Time."""
    return time_msg.sec + 1e-9 * time_msg.nanosec


def header(t: float, frame_id: str) -> Header:
    return Header(stamp=stamp(t), frame_id=frame_id)


def clock(t: float) -> Clock:
    return Clock(clock=stamp(t))


def image(t: float, frame_id: str, rgb: np.ndarray) -> Image:
    """sensor_msgs/Image, encoding rgb8, from an (h, w, 3) uint8 array."""
    h, w, _ = rgb.shape
    data = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1)
    return Image(
        header=header(t, frame_id),
        height=h,
        width=w,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * w,
        data=data.tobytes() if ROS else data,
    )


def image_array(msg: Image, height: int, width: int) -> np.ndarray:
    """(height, width, 3) uint8 array of an rgb8 image; ValueError for anything else."""
    if msg.encoding != "rgb8":
        raise ValueError(f"image.encoding: expected 'rgb8', got {msg.encoding!r}")
    if (msg.height, msg.width) != (height, width) or msg.step != 3 * width:
        raise ValueError(
            f"image size: expected {width}x{height} (step {3 * width}), "
            f"got {msg.width}x{msg.height} (step {msg.step})"
        )
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if data.size != height * width * 3:
        raise ValueError(f"image.data: expected {height * width * 3} bytes, got {data.size}")
    return data.reshape(height, width, 3)


def odometry(t: float, x: float, y: float, yaw: float, speed: float, yaw_rate: float) -> Odometry:
    """nav_msgs/Odometry of a planar body in frame odom (REP-105), twist in base_link."""
    zero = np.zeros(36)
    return Odometry(
        header=header(t, "odom"),
        child_frame_id="base_link",
        pose=PoseWithCovariance(
            pose=Pose(
                position=Point(x=float(x), y=float(y), z=0.0),
                orientation=quaternion(0.0, 0.0, yaw),
            ),
            covariance=zero,
        ),
        twist=TwistWithCovariance(
            twist=Twist(
                linear=Vector3(x=float(speed), y=0.0, z=0.0),
                angular=Vector3(x=0.0, y=0.0, z=float(yaw_rate)),
            ),
            covariance=zero,
        ),
    )


LANE_FIELDS = ("s", "e_y", "e_psi", "e_v", "curvature_ahead")  # m, m, rad, m/s, 1/m


def lane_state(t: float, values) -> LaneState:
    """safe_control_interfaces/LaneState stamped t (s) in the lane's frame (odom) from
    (s, e_y, e_psi, e_v, curvature_ahead), LANE_FIELDS."""
    fields = {name: float(v) for name, v in zip(LANE_FIELDS, values, strict=True)}
    return LaneState(header=header(t, "odom"), **fields)


def lane_values(lane: LaneState) -> np.ndarray:
    """(5,) s, e_y, e_psi, e_v, curvature_ahead of a LaneState (LANE_FIELDS)."""
    return np.array([getattr(lane, name) for name in LANE_FIELDS], dtype=float)


def control_input(t: float, u) -> ControlInput:
    """safe_control_interfaces/ControlInput: u (2,) in controller coordinates, stamped with
    the stamp t (s) of the lane state it answers."""
    steering, acceleration = (float(v) for v in u)
    return ControlInput(header=header(t, "base_link"), steering=steering, acceleration=acceleration)


def perception_measurement(
    t: float, frame_id: str, estimate, bound, valid: bool
) -> PerceptionMeasurement:
    """safe_control_interfaces/PerceptionMeasurement of the image stamped t (s): estimate
    and bound (e_y m, e_psi rad)."""
    (e_y, e_psi), (bound_e_y, bound_e_psi) = estimate, bound
    return PerceptionMeasurement(
        header=header(t, frame_id),
        e_y=float(e_y),
        e_psi=float(e_psi),
        bound_e_y=float(bound_e_y),
        bound_e_psi=float(bound_e_psi),
        valid=bool(valid),
    )


def quaternion(roll: float, pitch: float, yaw: float) -> Quaternion:
    """geometry_msgs/Quaternion of fixed-axis roll, pitch, yaw (rad), R = Rz Ry Rx (REP-103)."""
    x, y, z, w = Rotation.from_euler("xyz", [roll, pitch, yaw]).as_quat()
    return Quaternion(x=float(x), y=float(y), z=float(z), w=float(w))


def transform(t: float, parent: str, child: str, xyz, rpy) -> TransformStamped:
    """geometry_msgs/TransformStamped of frame `child` in `parent`: translation xyz (m) and
    roll, pitch, yaw rpy (rad)."""
    x, y, z = (float(v) for v in xyz)
    return TransformStamped(
        header=header(t, parent),
        child_frame_id=child,
        transform=Transform(translation=Vector3(x=x, y=y, z=z), rotation=quaternion(*rpy)),
    )


def tf(*transforms: TransformStamped) -> TFMessage:
    """tf2_msgs/TFMessage, what /tf and /tf_static carry."""
    return TFMessage(transforms=list(transforms))


def ackermann(t: float, steering: float, accel: float, speed: float) -> AckermannDriveStamped:
    """ackermann_msgs/AckermannDriveStamped in base_link: steering (rad), accel (m/s^2)."""
    return AckermannDriveStamped(
        header=header(t, "base_link"),
        drive=AckermannDrive(
            steering_angle=float(steering),
            steering_angle_velocity=0.0,
            speed=float(speed),
            acceleration=float(accel),
            jerk=0.0,
        ),
    )


def twist_stamped(t: float, frame_id: str, speed: float, yaw_rate: float) -> TwistStamped:
    """geometry_msgs/TwistStamped: forward speed (m/s) and yaw rate (rad/s)."""
    return TwistStamped(
        header=header(t, frame_id),
        twist=Twist(
            linear=Vector3(x=float(speed), y=0.0, z=0.0),
            angular=Vector3(x=0.0, y=0.0, z=float(yaw_rate)),
        ),
    )


def pose_stamped(t: float, frame_id: str, x: float, y: float, yaw: float) -> PoseStamped:
    """geometry_msgs/PoseStamped of a planar pose."""
    return PoseStamped(
        header=header(t, frame_id),
        pose=Pose(
            position=Point(x=float(x), y=float(y), z=0.0),
            orientation=quaternion(0.0, 0.0, yaw),
        ),
    )


def diagnostics(
    t: float, name: str, level: int, message: str, values: dict[str, str], hardware_id: str
) -> DiagnosticArray:
    """diagnostic_msgs/DiagnosticArray with one status (level 0 OK, 1 WARN, 2 ERROR) of the
    component `name` of the device `hardware_id`."""
    status = DiagnosticStatus(
        level=bytes([level]) if ROS else np.uint8(level),  # a byte field: bytes in rclpy
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
    return DiagnosticArray(header=header(t, ""), status=[status])
