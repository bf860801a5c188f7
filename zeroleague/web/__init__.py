"""``zeroleague serve``: play and watch Go and 6 nimmt! in a browser, with AlphaZero's search made visible.

The top layer: it may import every other part of zeroleague; nothing imports it. ``create_app`` builds the
FastAPI app (``app.py``), ``serve`` runs it with uvicorn; the game model is ``games.py``, the sessions (a human vs
an agent, two agents, a replay) ``sessions.py``, read-only results-store access ``storeview.py``, and the page
(plain HTML/JS/CSS, no build step, nothing from the network) ``static/``.
"""

from zeroleague.web.app import create_app, serve

__all__ = ["create_app", "serve"]
