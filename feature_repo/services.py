"""Feature services: versioned bundles a strategy asks for by name.

Membership comes from FeatureSpec.services, so a service never lists features by hand.
"""

from feast import FeatureService
from views import returns_daily, risk_daily

from stockfeatures.features.spec import MOMENTUM_SERVICE, RISK_SERVICE, features_in_service


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
