"""The staff desk (工作台): a second entry point beside the chat, over the same database and use cases.

Server-rendered pages (Starlette + Jinja2, served by uvicorn). Desk actions run the core's use cases as the
logged-in person, in one transaction with their audit record; replies go to the same outbox as chat's.
"""
