"""Articles, their versions and the editorial workflow (review states, permissions, audit log)."""
