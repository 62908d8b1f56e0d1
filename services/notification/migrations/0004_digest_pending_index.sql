-- The overdue-digest job looks only at digests not sent yet, oldest first.
create index license_digests_pending on license_digests (created_at) where not sent;
