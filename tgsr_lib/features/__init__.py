"""Features from videos: temporal interpolation (``tim``), ``lbptop``, raw-video loaders
(``video``), batch ``extract``ion, and ``synthetic`` clips for tests and demos."""
