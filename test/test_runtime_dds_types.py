"""Cyclone DDS IDL structs of the project's message types: same fields as the ROS 2
definitions, same CDR bytes as rosbags' serializer, lossless conversion both ways."""

from dataclasses import fields

import numpy as np
import pytest

from safe_control_ros.runtime import dds_types
from safe_control_ros.runtime import messages as msg

pytestmark = pytest.mark.skipif(msg.ROS, reason="compares against rosbags' typestore")


def _samples() -> dict[str, object]:
    """One message of every type, with non-default values in every field (odd string
    lengths so that the doubles after them test CDR alignment)."""
    rng = np.random.default_rng(7)
    odom = msg.odometry(12.345678901, 1.5, -2.25, 0.3, 1.2, -0.1)
    odom.header.frame_id = "odom_frame"
    odom.pose.covariance = rng.normal(size=36)
    odom.twist.covariance = rng.normal(size=36)
    pose = msg.PoseStamped(header=msg.header(3.5, "map"), pose=odom.pose.pose)
    diag = msg.DiagnosticArray(
        header=msg.header(7.25, "base"),
        status=[
            msg.DiagnosticStatus(
                level=np.uint8(2),
                name="controller",
                message="infeasible",
                hardware_id="car1",
                values=[msg.KeyValue(key="tau", value="0.3"), msg.KeyValue(key="k", value="")],
            ),
            msg.DiagnosticStatus(
                level=np.uint8(0), name="estimator", message="ok", hardware_id="", values=[]
            ),
        ],
    )
    twist = odom.twist.twist
    lane = msg.array([0.5, -0.02, 0.01, 0.2, 1e-3], ("s", "e_y", "e_psi", "e_v", "kappa"))
    return {
        "builtin_interfaces/msg/Time": msg.stamp(1234.567890123),
        "std_msgs/msg/Header": msg.header(1.25, "camera_link"),
        "std_msgs/msg/MultiArrayDimension": lane.layout.dim[0],
        "std_msgs/msg/MultiArrayLayout": msg.MultiArrayLayout(dim=lane.layout.dim, data_offset=3),
        "std_msgs/msg/Float64MultiArray": lane,
        "rosgraph_msgs/msg/Clock": msg.clock(98.76),
        "sensor_msgs/msg/Image": msg.image(
            0.35, "cam", rng.integers(0, 256, size=(3, 5, 3), dtype=np.uint8)
        ),
        "geometry_msgs/msg/Point": odom.pose.pose.position,
        "geometry_msgs/msg/Quaternion": odom.pose.pose.orientation,
        "geometry_msgs/msg/Pose": odom.pose.pose,
        "geometry_msgs/msg/PoseWithCovariance": odom.pose,
        "geometry_msgs/msg/PoseStamped": pose,
        "geometry_msgs/msg/Vector3": twist.angular,
        "geometry_msgs/msg/Twist": twist,
        "geometry_msgs/msg/TwistWithCovariance": odom.twist,
        "geometry_msgs/msg/TwistStamped": msg.TwistStamped(
            header=msg.header(2.0, "b"), twist=twist
        ),
        "nav_msgs/msg/Odometry": odom,
        "nav_msgs/msg/Path": msg.Path(header=msg.header(4.0, "map"), poses=[pose, pose]),
        "ackermann_msgs/msg/AckermannDrive": msg.ackermann(0.0, 0.25, -1.5, 2.0).drive,
        "ackermann_msgs/msg/AckermannDriveStamped": msg.ackermann(5.05, -0.125, 0.75, 1.5),
        "diagnostic_msgs/msg/KeyValue": diag.status[0].values[0],
        "diagnostic_msgs/msg/DiagnosticStatus": diag.status[0],
        "diagnostic_msgs/msg/DiagnosticArray": diag,
    }


SAMPLES = _samples()


def test_every_struct_has_a_sample_and_a_message_class():
    assert set(SAMPLES) == set(dds_types.BY_ROS_TYPE)
    for name, cls in dds_types.BY_ROS_TYPE.items():
        assert dds_types.dds_typename(name) == cls.__idl_typename__
        assert dds_types.idl_class(dds_types.message_class(cls)) is cls


@pytest.mark.parametrize("typename", sorted(SAMPLES))
def test_fields_match_the_ros2_definition(typename):
    ros_fields = [name for name, _ in msg.TYPESTORE.fielddefs[typename][1]]
    assert [f.name for f in fields(dds_types.BY_ROS_TYPE[typename])] == ros_fields


@pytest.mark.parametrize("typename", sorted(SAMPLES))
def test_cdr_bytes_equal_rosbags_and_round_trip(typename):
    message = SAMPLES[typename]
    expected = bytes(msg.TYPESTORE.serialize_cdr(message, typename))
    struct = dds_types.to_idl(message)
    assert type(struct) is dds_types.BY_ROS_TYPE[typename]
    data = struct.serialize()
    assert data == expected
    assert struct.serialize(use_version_2=False) == expected  # what ROS 2 sends: XCDR1
    decoded = type(struct).deserialize(data)
    assert decoded == struct
    back = dds_types.from_idl(decoded)
    assert type(back) is type(message)
    assert bytes(msg.TYPESTORE.serialize_cdr(back, typename)) == expected
    again = msg.TYPESTORE.deserialize_cdr(expected, typename)
    assert dds_types.to_idl(again) == struct


def test_decoded_messages_work_with_the_message_helpers():
    rgb = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    image = dds_types.from_idl(dds_types.to_idl(msg.image(1.0, "cam", rgb)))
    np.testing.assert_array_equal(msg.image_array(image, 2, 4), rgb)
    lane = dds_types.from_idl(dds_types.to_idl(SAMPLES["std_msgs/msg/Float64MultiArray"]))
    assert lane.data.dtype == np.float64 and lane.data[1] == -0.02
    assert msg.seconds(dds_types.from_idl(dds_types.to_idl(msg.clock(98.76))).clock) == 98.76


def test_unknown_message_types_are_named():
    with pytest.raises(KeyError, match="sensor_msgs/msg/CameraInfo"):
        dds_types.idl_class(msg.TYPESTORE.types["sensor_msgs/msg/CameraInfo"])
