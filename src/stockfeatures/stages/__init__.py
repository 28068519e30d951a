"""The batch stages of the data flow, one module each: ingest, compute, materialize.

The CLI, the Prefect flows (pipelines/) and library callers run these same functions, so
a rule (knowledge time, unclosed bars, quarantine granularity, the ingest summary) lives
in one place and cannot differ by caller (issue 10, finding 9). `feast apply` stays in
stockfeatures.jobs.apply_definitions.
"""
