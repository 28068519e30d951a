"""The intraday tier: 5-minute bars known at their end, features pushed online within the bar.

spec.py is this tier's FeatureSpec (one list that schema, computation, validation and docs
derive from), functions.py its vectorized math.
"""
