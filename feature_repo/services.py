"""Feature services: versioned bundles a strategy asks for by name.

Membership comes from FeatureSpec.services, so a service never lists features by hand.
"""

from feast import FeatureService
from views import intraday_5m, returns_daily, risk_daily

from stockfeatures.features.spec import MOMENTUM_SERVICE, RISK_SERVICE, features_in_service
from stockfeatures.intraday.spec import INTRADAY_FEATURES, INTRADAY_SERVICE


def _service(name: str, description: str) -> FeatureService:
    wanted = {spec.name for spec in features_in_service(name)}
    projections = []
    for view in (returns_daily, risk_daily):
        chosen = [field.name for field in view.features if field.name in wanted]
        if chosen:
            projections.append(view[chosen])
    return FeatureService(name=name, features=projections, description=description)


momentum_v1 = _service(MOMENTUM_SERVICE, "Cross-sectional momentum strategy inputs")
risk_v1 = _service(RISK_SERVICE, "Risk model and position sizing inputs")


intraday_v1 = FeatureService(
    name=INTRADAY_SERVICE,
    features=[intraday_5m[[spec.name for spec in INTRADAY_FEATURES if INTRADAY_SERVICE in spec.services]]],
    description="Intraday (5-minute) features for strategies trading during the session",
)
