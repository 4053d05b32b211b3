"""The environment variable that picks a target, in a module of its own: the CLI's option
definitions read it at start-up without importing the config models (pydantic, issue #18)."""

# Picks a target when --target is not given (as dbt's --target, for CI jobs).
TARGET_ENV = "RETL_TARGET"
