"""The HTTP edge: the FastAPI app, its routes, and what every request passes through first.

app.py          create_app(): routes, error handlers, middleware, lifespan
state.py        what the app holds: the Service, the question encoder, the response cache
errors.py       the one error shape, and the core's exceptions mapped to statuses
middleware.py   request ids and access log, body limits (security.py: API key, CORS)
routes/         query, articles, operations, tools, mcp, web (the search page, static/)
"""
