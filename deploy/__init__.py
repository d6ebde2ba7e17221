"""Running artsim in production: N replicas behind nginx (``deploy/proxy.py``, ``deploy/launch.py``)."""
