"""fangang's planner: given a scenario (contract v1), what is the plan?

This package never imports the service layer (``api``), FastAPI or SQLAlchemy.
"""

from .contract import Plan as Plan
from .contract import Scenario as Scenario
from .errors import InputError as InputError
from .errors import Problem as Problem
from .optimize import Progress as Progress
from .optimize import solve as solve
from .params import SolveParams as SolveParams
