"""Paper-reproduction code that lives apart from the solver core (it imports nothing of it).

- :mod:`cvxpar.experiments.qsgd`: a simulator of quantized one-pass SGD for linear regression
  (Zhang, Su and Zou 2025), used by notebook 06.
"""
