"""The Mastodon-compatible client API: a second surface over Chirp's services. This package only maps Chirp's ids,
tweets, users and notifications to Mastodon's shapes (entities, content HTML, pagination, OAuth); every behaviour
stays in chirp.services."""
