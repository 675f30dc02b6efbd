"""Where uploaded datasets' bytes live: a directory by default, an S3-compatible object store at
scale (``app.datasets.store``). Rows describing them are in the database
(``app.storage.datasets``)."""
