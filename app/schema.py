"""Imports every model module so Base.metadata knows all tables (Alembic, tests)."""

from app.analytics import models as analytics_models
from app.campaigns import models as campaign_models
from app.db import Base
from app.loyalty import models as loyalty_models
from app.messaging import models as messaging_models
from app.passes import models as passes_models
from app.push import models as push_models
from app.ratelimits import models as ratelimit_models
from app.staff import models as staff_models
from app.till import models as till_models
from app.webhooks import models as webhook_models

metadata = Base.metadata
__all__ = [
    "analytics_models",
    "campaign_models",
    "loyalty_models",
    "messaging_models",
    "metadata",
    "passes_models",
    "push_models",
    "ratelimit_models",
    "staff_models",
    "till_models",
    "webhook_models",
]
