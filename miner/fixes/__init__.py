"""The fix, and whether it worked: link a cluster to an issue in Jira Cloud or GitHub, keep its status
fresh, and tell from the cluster's daily ticket counts whether resolving it bent the trend.

- `settings`: the tracker settings (JIRA_*, GITHUB_*), a pydantic model;
- `trackers`: what both trackers share: the issue as we see it, errors, the connection and its retries;
- `jira`, `github`: the two REST clients (httpx, sync);
- `brief`: what a new issue says about a cluster (figures, quotes, ticket links), read from the database;
- `store`: the functions on the `cluster_links` table (`miner.models.ClusterLink`): link, unlink, list,
  move on merge, refresh every link;
- `service`: create / link / figures for a cluster, tying the above together;
- `effect`: did the fix bend the trend (`fix_effect`), and did the problem come back (`regressed`);
- `demo_tracker`: a local Jira Cloud + GitHub for demo mode and tests;
- `demo`: demo mode's fixed issue, linked to its cluster once the demo tickets are clustered.

The settings are part of `miner.config.Settings` (`settings.fixes`); the `refresh_links` run
(`miner.pipeline.refresh_links_task`, scheduled hourly) keeps links fresh.
"""
