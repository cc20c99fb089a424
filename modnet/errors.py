"""Errors shared by the torch-free and torch modules."""


class CheckpointError(ValueError):
    """The file is not a MODNet checkpoint this network can load."""
