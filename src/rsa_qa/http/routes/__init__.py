"""The API's routes, one module per group: query, articles, operations, tools, mcp, web."""
