"""Analysis: every live ticket not yet analysed becomes 0..N product issues (Claude or offline).

Entry point: `miner.analysis.analyze.analyze_pending`. This package file stays empty so that
importing a light submodule (the taxonomy, the store) never loads the anthropic SDK.
"""
