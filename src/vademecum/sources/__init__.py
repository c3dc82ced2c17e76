"""Source readers, one module per real format; :mod:`vademecum.sources.registry` lists them."""
