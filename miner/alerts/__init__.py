"""Alerts: tell a team when a cluster becomes emerging, when a fixed problem comes back, and each week's
digest, on Slack, Microsoft Teams, e-mail or a signed webhook.

- `settings`: the channels (MINER_ALERT_* or `[alerts]` in secrets.toml), a pydantic model;
- `message`: an alert's content, channel-neutral, stored with the alert;
- `rules`: which alerts should exist now (emerging, regression, digest), each with its deduplication key;
- `outbox`: record an alert once and enqueue its deliveries; claim, retry, fail, hold; the delivery log;
- `channel`: what channels share (the attempt's error, the HTTP POST); `slack`, `teams`, `mail`, `webhook`;
- `deliver`: the deliverer (claim, send, backoff honouring Retry-After, give up);
- `service`: what the pipeline, scheduler, CLI, REST API and Settings page call.
"""
