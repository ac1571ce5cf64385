"""What is alerting now, as an operator asks it: ``atctl alerts`` and the line in ``atctl status``.

``sources.py`` reads Prometheus, Alertmanager and the alert receiver over HTTP (any
deployment, by URL); ``view.py`` turns their answers into rows, without I/O.
"""
