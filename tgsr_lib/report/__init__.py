"""Reports: result ``tables`` against the paper and the records, ``plotting``, the ``explorer``."""
