"""SQL for the read-model tables, applied in order by `jixiao migrate`."""
