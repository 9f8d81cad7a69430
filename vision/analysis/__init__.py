"""One photo or one video file through the engine, for `hallmonitor analyze` and the evaluation."""
