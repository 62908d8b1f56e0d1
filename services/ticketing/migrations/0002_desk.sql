-- The support desk: SLA cycles (warnings and breaches once per target and cycle), the queue's
-- nearest deadline, assignment, who did what, internal notes, tiers that follow the
-- entitlement, and the license named on a ticket.

alter table tickets
    add column sla jsonb,
    add column assignee text,
    add column next_due_at timestamptz,
    add column next_target text,
    add column at_risk_from timestamptz,
    add column tier_at_open text,
    add column tier_reason text,
    add column license_id text,
    add column license_key_status text,
    add column credit_used boolean not null default false,
    add column reevaluate_at timestamptz;

update tickets set
    tier_at_open = tier,
    credit_used = exists (select 1 from credit_uses u where u.ticket_id = tickets.ticket_id),
    license_key_status = case when license_key is null then null else 'unchecked' end;

alter table tickets alter column tier_at_open set not null;

create index tickets_queue on tickets (next_due_at, opened_at) where status <> 'closed';
create index tickets_open_account on tickets (account_id) where status <> 'closed';
create index tickets_reevaluate on tickets (reevaluate_at) where reevaluate_at is not null;

-- One warning and one breach per ticket, target and cycle.
create table sla_events (
    ticket_id text not null references tickets (ticket_id),
    target text not null,
    cycle int not null,
    kind text not null check (kind in ('warning', 'breach')),
    due_at timestamptz not null,
    at timestamptz not null,
    tier text not null,
    primary key (ticket_id, target, cycle, kind)
);

insert into sla_events (ticket_id, target, cycle, kind, due_at, at, tier)
select b.ticket_id, b.target, 1, 'breach', b.due_at, b.detected_at, t.tier
from sla_breaches b join tickets t using (ticket_id);

drop table sla_breaches;

-- Who did it (an agent's address, the customer, an API key, `system`), and whether the
-- customer may see it (internal notes, SLA events, assignment and tier changes are internal).
alter table ticket_timeline
    add column actor text,
    add column visibility text not null default 'public'
        check (visibility in ('public', 'internal'));

update ticket_timeline set visibility = 'internal' where type = 'sla_breached';

-- The entitlement panel shows each license by key and edition; a ticket naming a key is
-- matched by it. Rows projected before this migration fill in on `entitle replay ticketing
-- entitlement --reset`.
alter table ent_licenses
    add column license_key text,
    add column edition text;

create index ent_licenses_key on ent_licenses (license_key);

-- The maintenance plan a license's cover comes from, for the panel.
alter table ent_coverage add column plan text;
