"""统计 on the desk: the dashboard, 考核 and the downloads (role-scoped: staff see the community, a grid
leader their own grid)."""

from __future__ import annotations

from starlette.routing import Route

from web.dashboard.assessment import assessment
from web.dashboard.downloads import monthly_file, orders_file
from web.dashboard.page import dashboard

ROUTES = [
    Route("/dashboard", dashboard),
    Route("/dashboard/assessment", assessment),
    Route("/dashboard/orders.{kind:str}", orders_file),
    Route("/dashboard/monthly.xlsx", monthly_file),
]
