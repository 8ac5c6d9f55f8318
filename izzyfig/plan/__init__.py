"""The planner: validated specs -> frozen, picklable jobs (no torch, nothing run)."""
from izzyfig.plan.jobs import (
    ATTENTIONS,
    ArrayLoad,
    AttentionSelection,
    BoxRef,
    BuildPlan,
    FigureJob,
    Forward,
    ModelLoad,
    ModelShape,
    StackShape,
)
from izzyfig.plan.planner import CACHE_FORMAT, library_versions, plan_build

__all__ = [
    "ATTENTIONS",
    "ArrayLoad",
    "AttentionSelection",
    "BoxRef",
    "BuildPlan",
    "CACHE_FORMAT",
    "FigureJob",
    "Forward",
    "ModelLoad",
    "ModelShape",
    "StackShape",
    "library_versions",
    "plan_build",
]
