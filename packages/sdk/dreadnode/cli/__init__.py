"""The ``dn`` command line (also installed as ``dreadnode``)."""
