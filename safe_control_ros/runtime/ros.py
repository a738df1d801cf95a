"""Running one node class under ROS 2 (rclpy): the `ros2 run` entry points use this."""

from __future__ import annotations


def spin(name: str, node_class, args: list[str] | None = None) -> None:
    """Create an rclpy node `name`, build `node_class(node)` on it and spin until shutdown."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = rclpy.create_node(name)
    try:
        job = node_class(node)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if hasattr(job, "destroy"):
            job.destroy()
        node.destroy_node()
        rclpy.try_shutdown()
