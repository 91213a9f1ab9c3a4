"""Chirp's metrics, traces and correlation ids: one catalog of metric names (``catalog``) that the code records, the
CDK app alarms on and the local operator page shows; the recorder that emits them as CloudWatch EMF (``metrics``);
and the timing proxy the container puts around every store port (``timing``)."""
