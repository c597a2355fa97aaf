"""Command-line interface: one small module per verb, registered in `main.py`."""
