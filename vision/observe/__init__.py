"""What one analysed frame says about each service window (pure: detections in, observations out)."""
