"""Pages on an app of their own (not test_pages' module-wide demo app, which installing another would
replace): figures while tickets wait for analysis, and a Zendesk source's address."""

from __future__ import annotations

from pathlib import Path

from test_pages import installed, make_app, page, texts

from pages.ui.shared import refresh_data


def test_a_partly_analysed_sync_says_so_and_finishes_in_one_click(tmp_path: Path) -> None:
    for miner in installed(make_app(f"sqlite:///{tmp_path / 'partial.db'}")):
        # as after cancelling a pipeline during its analysis: tickets synced, few analysed, no trends yet
        assert miner.worker.run_blocking("sync", {}, started_by="cli").status == "succeeded"
        assert miner.worker.run_blocking("analyze", {"batch_size": 50}, started_by="cli").status == "succeeded"
        at = page()
        synced = int(at.metric[0].value.replace(",", ""))
        assert synced > 0  # tickets of the period, counted before any trends run
        notice = next(w.value for w in at.warning if "not analysed yet" in w.value)
        waiting = int(notice.split(" of ")[0].strip("*").replace(",", ""))
        assert waiting > 500 and "no cluster is flagged emerging" in notice
        assert "Pick a longer period" not in texts(at)
        next(b for b in at.button if b.label == f"Analyse the {waiting:,} waiting tickets").click().run()
        miner.worker.wait(300)
        refresh_data()
        done = page()
        assert not [w for w in done.warning if "not analysed yet" in w.value]
        assert "Top clusters" in texts(done)


def test_zendesk_addresses_show_without_escapes(tmp_path: Path) -> None:
    for miner in installed(make_app(f"sqlite:///{tmp_path / 'z.db'}", MINER_SOURCE="zendesk",
                                    ZENDESK_BASE_URL="http://127.0.0.1:36441", ZENDESK_EMAIL="a@acme.example",
                                    ZENDESK_API_TOKEN="t")):
        for name in ("settings", "operations", None):
            at = page(name)
            raw = "\n".join(str(m.value) for m in [*at.markdown, *at.caption])
            assert "127\\.0" not in raw and "\\:" not in raw
        assert miner.settings.zendesk_public_url == "http://127.0.0.1:36441"
