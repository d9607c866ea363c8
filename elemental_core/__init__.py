"""The pure core the API, the operator and the agent share: vocabulary (group, kinds,
labels, phases, conditions), records, host and registration rules, conditions, tokens,
selectors and name rules. No I/O: no kubernetes, no web framework, no database."""
