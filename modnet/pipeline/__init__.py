"""Photo in, matte out: the session around the network (``session``), the multi-scale
``quality`` modes (``multiscale``) and guided upsampling (``guided_filter``)."""
