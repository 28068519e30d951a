"""Feature views, one per FeatureSpec.view, with schemas derived from FeatureSpec.

ttl: a daily value is looked up at most 7 calendar days back. That spans the longest
routine gap between two XNYS closes (a long weekend, Thanksgiving, the 2001 and 2012
multi-day closures) while still hiding a ticker that stopped trading. Freshness by the
trading calendar is enforced by the serving layer, since Feast does not enforce ttl on
online reads (feast-dev/feast#6821).
"""

from datetime import timedelta

from entities import ticker
from feast import FeatureView, Field
from feast.types import Float64
from sources import features_daily, intraday_push

from stockfeatures.features.spec import RETURNS_VIEW, RISK_VIEW, features_in_view
from stockfeatures.intraday.spec import INTRADAY_FEATURES, INTRADAY_VIEW

DAILY_TTL = timedelta(days=7)
# An intraday value is looked up at most 5 days back: a session's last bar must reach the next
# open across a long weekend or Thanksgiving (Wednesday close to Friday open), and no further.
# Freshness within the session (5 minutes plus grace) is the serving layer's rule.
INTRADAY_TTL = timedelta(days=5)


def _daily_view(name: str, description: str) -> FeatureView:
    return FeatureView(
        name=name,
        entities=[ticker],
        ttl=DAILY_TTL,
        schema=[Field(name=spec.name, dtype=Float64, description=spec.formula)
                for spec in features_in_view(name)],
        source=features_daily,
        online=True,
        description=description,
        tags={"frequency": "daily", "stamped_at": "session_close"},
    )


returns_daily = _daily_view(RETURNS_VIEW, "Return, trend and momentum features per session")
risk_daily = _daily_view(RISK_VIEW, "Volatility, beta and liquidity features per session")


intraday_5m = FeatureView(
    name=INTRADAY_VIEW,
    entities=[ticker],
    ttl=INTRADAY_TTL,
    schema=[Field(name=spec.name, dtype=Float64, description=spec.formula)
            for spec in INTRADAY_FEATURES],
    source=intraday_push,
    online=True,
    description="Intraday features per ticker, one row per 5-minute bar, fed by Feast's push API",
    tags={"frequency": "5m", "stamped_at": "bar_end", "fed_by": "push"},
)
