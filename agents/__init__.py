"""zeroleague agents: the Agent protocol, agent specs and the batched torch Evaluator."""

if __name__ != "zeroleague.agents":  # this folder installs as zeroleague.agents; one module, one name
    raise ImportError(f"import zeroleague.agents, not {__name__}: the folder agents/ installs as zeroleague.agents")

from zeroleague.agents.base import RESIGN, Agent, BaseAgent, DecisionBatch
from zeroleague.agents.registry import agent_names, make_agent, parse_spec, register_agent

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
        from zeroleague.agents import evaluator

        return getattr(evaluator, name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
