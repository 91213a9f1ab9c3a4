"""Chirp's AWS infrastructure as CDK stacks, generated from the wiring table in ``chirp.wiring``."""
