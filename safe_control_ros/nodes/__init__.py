"""One node per job. Each class takes a `node` handle (an rclpy Node under ROS 2, a
standalone runtime node otherwise) and reads top to bottom: parameters, publishers and
subscriptions, callbacks that call the algorithm layer."""
