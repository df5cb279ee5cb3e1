"""The checker's rule families, one module each; :mod:`planner.check` runs them.

Nothing here imports the optimiser (``planner.optimize``, ``planner.problem``, ``planner.network.roads``
or the optimiser's private modules): only the contract models and place resolution.
"""
