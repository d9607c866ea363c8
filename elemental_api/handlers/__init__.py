"""Request handlers, bound to openapi.yaml by operationId (camelCase id -> snake_case name).

Handlers take validated parameters and return (body, status[, headers]); they never parse
HTTP. Authentication already happened in elemental_api.security.
"""
