"""Chirp: a serverless, cloud-native Twitter backend."""

__version__ = "0.1.0"
