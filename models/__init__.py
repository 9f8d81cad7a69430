"""The bundled model files and their manifest (models.yaml), installed as package data
(``hallmonitor_models``), so a plain ``pip install`` carries them. The scripts here (convert.py,
quantize.py, export_backbone.py, train_heads.py, ...) run in their own tool venvs; nothing imports them."""
