"""What is made of a matte: the person's colours freed from the old background
(``foreground``), cutouts and new backgrounds (``compositing``)."""
