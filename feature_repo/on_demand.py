"""On-demand feature view: volatility-targeted position size from request data."""

from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64
from views import risk_daily

from stockfeatures.features.on_demand import TARGET_VOL_FIELD, WEIGHT_FIELD, vol_target_sizing

position_sizing_request = RequestSource(
    name="position_sizing_request",
    schema=[Field(name=TARGET_VOL_FIELD, dtype=Float64)],
    description="The strategy's target annualized volatility for one position, e.g. 0.15",
)

vol_target = on_demand_feature_view(
    name="vol_target",
    sources=[risk_daily, position_sizing_request],
    schema=[Field(name=WEIGHT_FIELD, dtype=Float64)],
    mode="pandas",
    description="target_annual_vol / vol_20d: the weight that gives the position the target volatility",
)(vol_target_sizing)
