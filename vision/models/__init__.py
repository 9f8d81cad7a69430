"""The model files: the manifest (models/models.yaml), one onnxruntime adapter per family, registering models."""
