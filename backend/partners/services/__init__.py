"""Partner webhook services by job: ``endpoints`` (register, change, rotate, ping) and ``deliveries``."""
