"""Runners of the network: a backend name in (``factory``), a callable from the normalised
input to the alpha out. One module per runtime (``torch_runner``, ``onnx_runner``,
``openvino_runner``), the ONNX export they share (``export``, ``export_cache``), and the choices
around them (``cpu_choice``, ``cpu``, ``precision``, ``devices``)."""
