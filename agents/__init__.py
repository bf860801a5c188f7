"""zeroleague agents: the Agent protocol, agent specs and the batched torch Evaluator."""

from agents.base import RESIGN, Agent, BaseAgent, DecisionBatch
from agents.registry import agent_names, make_agent, parse_spec, register_agent

__all__ = [
    "RESIGN",
    "Agent",
    "BaseAgent",
    "DecisionBatch",
    "agent_names",
    "make_agent",
    "parse_spec",
    "register_agent",
]


def __getattr__(name: str):
    # The Evaluator pulls in torch; import it only when asked for.
    if name in ("Evaluator", "pick_device"):
        from agents import evaluator

        return getattr(evaluator, name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
