"""Sub-commands of the ``edgekit`` CLI, one module each."""
