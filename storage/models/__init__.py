"""SQLAlchemy tables, one module per feature. Only storage/ knows them; repositories map rows to domain types.

Importing this package registers every table on `Base.metadata` (Alembic and `create_all` rely on that).
"""

from storage.models.base import NAMING, Base, Id, TZDateTime, UTCDateTime
from storage.models.broadcasts import (
    BroadcastDeliveryRow,
    BroadcastOptOutRow,
    BroadcastRow,
    BroadcastRunRow,
    CampaignRow,
)
from storage.models.care import CheckinRow, LedgerEntryRow
from storage.models.community import (
    BuildingRow,
    CategoryRouteRow,
    CommunitySettingsRow,
    CommunityVersionRow,
    CompoundRow,
    GridRow,
    InviteRow,
    PersonRow,
    ResidentRow,
)
from storage.models.delivery import OutboxRow, TelegramUpdateRow, UnreachableChatRow
from storage.models.desk import (
    DeskAuditRow,
    DeskLoginAttemptRow,
    DeskLoginLinkRow,
    DeskRecordedReportRow,
    DeskSessionRow,
    DeskSiteRow,
)
from storage.models.followups import FollowupRow
from storage.models.labels import ClassificationLabelRow
from storage.models.statistics import (  # noqa: F401
    StatsDayRow,
    StatsDirtyDayRow,
    StatsLateOrderRow,
    StatsMarkRow,
    StatsMonthRow,
    StatsMonthState,
)
from storage.models.workorders import (
    OPEN_ORDER,
    OPEN_STATES,
    OVER_STATES,
    RATING_EVENT,
    RATING_EVENT_KINDS,
    TO_REDACT,
    ConversationRow,
    InboundRow,
    MessageLinkRow,
    OrderCounterRow,
    OrderEventRow,
    WorkOrderRow,
)

__all__ = [
    "NAMING",
    "Id",
    "UTCDateTime",
    "TZDateTime",
    "Base",
    "CompoundRow",
    "BuildingRow",
    "GridRow",
    "InviteRow",
    "PersonRow",
    "CategoryRouteRow",
    "CommunitySettingsRow",
    "CommunityVersionRow",
    "ResidentRow",
    "OPEN_STATES",
    "RATING_EVENT_KINDS",
    "OPEN_ORDER",
    "RATING_EVENT",
    "OVER_STATES",
    "TO_REDACT",
    "WorkOrderRow",
    "OrderEventRow",
    "OrderCounterRow",
    "MessageLinkRow",
    "ConversationRow",
    "InboundRow",
    "OutboxRow",
    "TelegramUpdateRow",
    "UnreachableChatRow",
    "BroadcastRow",
    "BroadcastRunRow",
    "BroadcastDeliveryRow",
    "BroadcastOptOutRow",
    "CampaignRow",
    "LedgerEntryRow",
    "CheckinRow",
    "DeskLoginLinkRow",
    "DeskSessionRow",
    "DeskLoginAttemptRow",
    "DeskAuditRow",
    "DeskRecordedReportRow",
    "DeskSiteRow",
    "ClassificationLabelRow",
    "FollowupRow",
]
