"""Mattes over frames: streams with their positions and delays (``stream``) and the filters
that steady them against flicker (``temporal``)."""
