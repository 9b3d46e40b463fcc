"""Data: the authors' released files (``datasets``), the feature ``layout``, the
experiment ``protocols``."""
