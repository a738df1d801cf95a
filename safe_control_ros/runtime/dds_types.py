"""Cyclone DDS IDL structs of the ROS 2 message types the project uses, and conversion
between them and the message objects of `messages`.

Each struct is what rosidl generates for the type's .msg file: final extensibility,
the DDS type name `pkg::msg::dds_::Type_`, fields in .msg order, so a sample serialises
(XCDR1, as ROS 2 sends it) to the same CDR bytes as the ROS 2 message. Conversion walks
the struct's annotations field by field and recurses into nested structs, so one pair of
functions serves every type.
"""

import functools
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import (
    array,
    byte,
    float32,
    float64,
    int32,
    sequence,
    uint8,
    uint32,
)

from . import messages

# builtin_interfaces ------------------------------------------------------------------


@dataclass
@final
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


# std_msgs ----------------------------------------------------------------------------


@dataclass
@final
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
@final
class MultiArrayDimension(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@dataclass
@final
class MultiArrayLayout(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    dim: sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: uint32 = 0


@dataclass
@final
class Float64MultiArray(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float64] = field(default_factory=list)


# rosgraph_msgs -----------------------------------------------------------------------


@dataclass
@final
class Clock(IdlStruct, typename="rosgraph_msgs::msg::dds_::Clock_"):
    clock: Time = field(default_factory=Time)


# sensor_msgs -------------------------------------------------------------------------


@dataclass
@final
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


# geometry_msgs -----------------------------------------------------------------------


@dataclass
@final
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
@final
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@dataclass
@final
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
@final
class PoseWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose = field(default_factory=Pose)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@dataclass
@final
class PoseStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PoseStamped_"):
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@dataclass
@final
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
@final
class Twist(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


@dataclass
@final
class TwistWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    twist: Twist = field(default_factory=Twist)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@dataclass
@final
class TwistStamped(IdlStruct, typename="geometry_msgs::msg::dds_::TwistStamped_"):
    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)


# nav_msgs ----------------------------------------------------------------------------


@dataclass
@final
class Odometry(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)
    twist: TwistWithCovariance = field(default_factory=TwistWithCovariance)


@dataclass
@final
class Path(IdlStruct, typename="nav_msgs::msg::dds_::Path_"):
    header: Header = field(default_factory=Header)
    poses: sequence[PoseStamped] = field(default_factory=list)


# ackermann_msgs ----------------------------------------------------------------------


@dataclass
@final
class AckermannDrive(IdlStruct, typename="ackermann_msgs::msg::dds_::AckermannDrive_"):
    steering_angle: float32 = 0.0
    steering_angle_velocity: float32 = 0.0
    speed: float32 = 0.0
    acceleration: float32 = 0.0
    jerk: float32 = 0.0


@dataclass
@final
class AckermannDriveStamped(
    IdlStruct, typename="ackermann_msgs::msg::dds_::AckermannDriveStamped_"
):
    header: Header = field(default_factory=Header)
    drive: AckermannDrive = field(default_factory=AckermannDrive)


# diagnostic_msgs ---------------------------------------------------------------------


@dataclass
@final
class KeyValue(IdlStruct, typename="diagnostic_msgs::msg::dds_::KeyValue_"):
    key: str = ""
    value: str = ""


@dataclass
@final
class DiagnosticStatus(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticStatus_"):
    level: byte = 0  # .msg `byte`, IDL `octet`
    name: str = ""
    message: str = ""
    hardware_id: str = ""
    values: sequence[KeyValue] = field(default_factory=list)


@dataclass
@final
class DiagnosticArray(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticArray_"):
    header: Header = field(default_factory=Header)
    status: sequence[DiagnosticStatus] = field(default_factory=list)


STRUCTS: tuple[type[IdlStruct], ...] = (
    Time,
    Header,
    MultiArrayDimension,
    MultiArrayLayout,
    Float64MultiArray,
    Clock,
    Image,
    Point,
    Quaternion,
    Pose,
    PoseWithCovariance,
    PoseStamped,
    Vector3,
    Twist,
    TwistWithCovariance,
    TwistStamped,
    Odometry,
    Path,
    AckermannDrive,
    AckermannDriveStamped,
    KeyValue,
    DiagnosticStatus,
    DiagnosticArray,
)


def dds_typename(ros_type: str) -> str:
    """`pkg/msg/Type` -> `pkg::msg::dds_::Type_`, the name rmw implementations use."""
    package, kind, name = ros_type.split("/")
    return f"{package}::{kind}::dds_::{name}_"


def ros_typename(dds_type: str) -> str:
    """`pkg::msg::dds_::Type_` -> `pkg/msg/Type`."""
    package, kind, _, name = dds_type.split("::")
    return f"{package}/{kind}/{name.removesuffix('_')}"


BY_ROS_TYPE: dict[str, type[IdlStruct]] = {
    ros_typename(cls.__idl_typename__): cls for cls in STRUCTS
}


def message_typename(msg_type: type) -> str:
    """`pkg/msg/Type` of a message class (rosbags' or a ROS 2 package's)."""
    name = getattr(msg_type, "__msgtype__", None)  # rosbags typestore classes
    if name:
        return str(name)
    package = msg_type.__module__.split(".")[0]  # rosidl: pkg.msg._type_name
    return f"{package}/msg/{msg_type.__name__}"


def idl_class(msg_type: type) -> type[IdlStruct]:
    """The IDL struct of a message class; KeyError naming the type if there is none."""
    name = message_typename(msg_type)
    try:
        return BY_ROS_TYPE[name]
    except KeyError:
        raise KeyError(f"no DDS type for {name}; add it to runtime/dds_types.py") from None


def message_class(cls: type[IdlStruct]) -> type:
    """The message class (of `messages`) an IDL struct converts to."""
    return getattr(messages, cls.__name__)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = get_type_hints(cls, include_extras=True)
    return tuple((f.name, _unwrap(hints[f.name])) for f in fields(cls))


def _unwrap(annotation: Any) -> Any:
    """`sequence[T]` and `array[T, n]` annotate `Sequence[T]`; return the IDL marker."""
    for extra in getattr(annotation, "__metadata__", ()):
        if isinstance(extra, sequence | array):
            return extra
    return annotation


def _element(annotation: Any) -> Any:
    """Element type of `sequence[T]` / `array[T, n]`, or None for anything else."""
    if isinstance(annotation, sequence | array):
        return annotation.subtype
    return None


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, IdlStruct)


def _dtype(annotation: Any) -> np.dtype:
    """numpy dtype of a primitive IDL annotation (`float64`, `uint8`, ...)."""
    if get_origin(annotation) is Annotated:  # Annotated[int, "uint8"]
        name = get_args(annotation)[1]
        return np.dtype("uint8" if name == "byte" else name)
    return np.dtype(float if annotation is float else int)


def to_idl(msg: Any, cls: type[IdlStruct] | None = None) -> IdlStruct:
    """The IDL struct holding the values of a message object."""
    cls = cls or idl_class(type(msg))
    values = {}
    for name, annotation in _fields(cls):
        value = getattr(msg, name)
        element = _element(annotation)
        if _is_struct(annotation):
            value = to_idl(value, annotation)
        elif element is not None and _is_struct(element):
            value = [to_idl(item, element) for item in value]
        elif element is not None:
            value = np.asarray(value).tolist()
        elif annotation is not str:
            value = value.item() if isinstance(value, np.generic) else value
        values[name] = value
    return cls(**values)


def from_idl(sample: IdlStruct) -> Any:
    """The message object (class from `messages`) holding the values of an IDL struct."""
    cls = type(sample)
    values = {}
    for name, annotation in _fields(cls):
        value = getattr(sample, name)
        element = _element(annotation)
        if _is_struct(annotation):
            value = from_idl(value)
        elif element is not None and _is_struct(element):
            value = [from_idl(item) for item in value]
        elif element is not None:
            value = np.asarray(value, dtype=_dtype(element))
        values[name] = value
    return message_class(cls)(**values)


def stamp_ns(time_struct: Time) -> int:
    """Nanoseconds of a builtin_interfaces/Time struct."""
    return time_struct.sec * 1_000_000_000 + time_struct.nanosec
