"""What users call: the ``tastemap`` command and the notebook loader."""
