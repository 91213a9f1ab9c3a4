"""The OpenSearch security role Chirp's functions are mapped to: exactly the permissions the search adapter's calls
need, on Chirp's indices only. One description, read by the CDK app (the role mapping on the domain) and by the
stand-in OpenSearch's security configuration; it lives below the adapters so neither imports one."""

from __future__ import annotations

from typing import Any

INDEXER_ROLE = "chirp_indexer"


def indexer_role(prefix: str) -> dict[str, Any]:
    """The security plugin role (body of ``PUT _plugins/_security/api/roles/chirp_indexer``) with exactly the
    permissions the search adapter's calls need on the indices of ``prefix``: the alias ``prefix``, the monthly indices
    ``prefix-YYYY-MM`` and ``prefix-users``. Nothing on other indices, no security or cluster settings."""
    return {
        "description": f"Chirp search adapter: index and search {prefix} and {prefix}-*",
        "cluster_permissions": [
            # ensure_setup: PUT _index_template/<prefix>-tweets. Template actions are cluster-level in the security
            # plugin (they cannot be limited to an index pattern): this one only creates or replaces templates.
            "indices:admin/index_template/put",
            # index_tweets/index_users/delete_tweets: the _bulk request itself; every item is then checked against
            # the index permissions below.
            "indices:data/write/bulk",
        ],
        "index_permissions": [
            {
                "index_patterns": [prefix, f"{prefix}-*"],
                "allowed_actions": [
                    "indices:admin/create",  # the users index and each month's index
                    "indices:data/write/index",  # bulk index items (idempotent upserts by id)
                    "indices:data/write/delete",  # bulk delete items
                    "indices:data/write/bulk[s]",  # the per-shard part of a bulk request
                    "indices:data/read/search",  # search, search_users, tweet_count (_count is a search)
                    # refresh() and its per-shard part (tests; production relies on the 1 s refresh interval)
                    "indices:admin/refresh",
                    "indices:admin/refresh[s]",
                ],
            }
        ],
    }
