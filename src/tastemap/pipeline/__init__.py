"""Workflow glue: what the rules run, one function per job, on top of the stages."""
