"""One frame through the models: detections, person crops, counter zoom, faces and eyes, heads, badge."""
