"""The config: pydantic models of every section (`schema`, with `fields` and `shorthand`), reading
YAML (`loading`), errors as the user wrote them (`errors`) and the JSON Schema for editors (`json_schema`)."""
