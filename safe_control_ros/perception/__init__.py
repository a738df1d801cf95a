"""Perception as a virtual position sensor: camera images -> lane-frame (e_y, e_psi).

`dataset` renders labelled images over a region R of lane-frame states, `maps` learns
image -> state maps (kernel regression and a small CNN) behind one interface, and
`calibration` turns held-out errors into a per-coordinate bound valid inside R (and how it
grows outside R). numpy / torch only; no ROS.
"""
