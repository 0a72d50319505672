"""Analysis: every live ticket not yet analysed becomes 0..N product issues (Claude or offline)."""

from miner.analysis.analyze import AnalyzeResult, analyze_pending

__all__ = ["AnalyzeResult", "analyze_pending"]
