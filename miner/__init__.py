"""Product Issue Miner: Zendesk tickets in, a ranked and trending list of product issues out."""

__version__ = "0.1.0"
