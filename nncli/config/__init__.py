"""The config: pydantic models of every section (`schema`) and reading YAML with file/line errors (`loading`)."""
