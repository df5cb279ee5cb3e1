"""fangang's service: how people submit, store, run and fetch plans.

``api`` depends on ``planner``; ``planner`` never imports ``api``. The app is built by
:func:`api.main.create_app`; the command line is :mod:`api.cli`.
"""
