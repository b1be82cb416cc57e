"""Pure figure builders: frames in, ``go.Figure`` out, in one house style (``theme``). ``charts`` (bars,
gradient, trend, cascade, funnel), ``maps`` (vector choropleths), ``classify`` (class breaks and
legends), ``describe`` (text alternatives), ``labels`` (escaping data-derived labels),
``model_card`` (calibration and group figures).
"""
