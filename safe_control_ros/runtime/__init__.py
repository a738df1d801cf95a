"""The seam between nodes and middleware: rclpy when present, otherwise a standalone
runtime offering the same subset of `rclpy.node.Node`."""
