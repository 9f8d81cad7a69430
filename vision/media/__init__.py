"""Video in and evidence out: camera capture, the packet ring, clips and snapshots, drawings, test footage."""
