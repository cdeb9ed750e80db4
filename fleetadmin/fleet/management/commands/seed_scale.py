"""Fill the database with a large synthetic fleet and audit log, for benchmarks.

    python manage.py seed_scale --orgs 10000 --machines 100000 --audit-events 1000000 --keys 200000

Rows go in with ``bulk_create`` (batches of ``--batch-size``, committed every
``--transaction-rows`` rows, so every commit leaves a consistent prefix), not through the
audited services, which would take hours at this size. The data still keeps every
invariant the services keep:

* ``Location.path`` is the materialized path exactly as ``location_create`` builds it;
  locations nest (each organization gets 1-3 top-level locations, bigger ones get
  sub-locations), location names are unique among siblings, machine names within an
  organization (so within a location);
* ``Machine.organization_id`` is its location's organization;
* the maintained counters (``fleetadmin.fleet.counters``) are recomputed for the new organizations;
* API keys (``--keys``, spread over organizations like machines) each carry one authorization,
  a third each on the organization, a location, a machine, with ``scope_path`` as the services
  build it; they share one stored secret hash, so they list and search like real keys but no
  value authenticates as them;
* each organization's audit events form a valid hash chain, hashed with
  ``fleetadmin.audit.hashing.event_hash`` as ``audit.services.record`` does, inserted in
  chain order (ids ascending with ``created_at`` within each organization); organizations
  interleave, as they do in production. A chain that already has events is continued
  from its head.

Sizes are skewed (a few big organizations, many small ones), deterministic for a given
``--seed`` apart from the random ids. Running the command again adds new organizations
numbered after the existing "Scale Org NNNNN" ones. With ``--orgs 0 --machines 0`` it only
appends audit events, to the chains of the organizations already in the database.

Assumes nothing else writes audit events while it runs (it does not lock chain heads).
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max

from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.models import ActorType, AuditEvent, ChainCheckpoint
from fleetadmin.fleet import counters
from fleetadmin.fleet.models import Location, Machine, Organization

ORG_PREFIX = "Scale Org "
NEST_LIMIT = 4  # sub-locations go at most this many levels below a top-level one (Location.MAX_DEPTH is 8)
MACHINES_PER_LOCATION = 10
HISTORY = timedelta(days=90)
ID_CHUNK = 500  # ids per IN (...) query; SQLite allows 999 parameters
# Rows per transaction. Few, big transactions: on SQLite each commit rewrites the rollback journal for every
# index page the transaction touched (per-5,000-row commits took 611 s instead of 377 s for 1M events).
TRANSACTION_ROWS = 1_000_000

CITIES = ["Rotterdam", "Austin", "Osaka", "Lyon", "Porto", "Gdansk", "Leeds", "Monterrey", "Pune", "Perth"]
SITES = ["Depot", "Plant", "Warehouse", "Campus", "Hub", "Lab"]
AREAS = ["Dock", "Assembly Line", "Cell", "Aisle", "Bay", "Floor", "Zone"]
KINDS = ["arm", "agv", "forklift", "sorter", "drone", "vision-cell", "picker"]
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "fleetadmin-cli/0.1.0 python-requests/2.32",
]
# (action, weight); the kinds that need a target fall back to another when the organization has none.
ACTIONS = [
    ("fleet.machine.rename", 40),
    ("fleet.machine.create", 20),
    ("fleet.location.rename", 15),
    ("fleet.location.create", 10),
    ("audit.log.export", 5),
]
SYSTEM_SHARE = 0.25  # share of events recorded by the system actor rather than a user


@dataclass
class Org:
    """One organization that receives data, and what its audit events can point at."""

    id: uuid.UUID
    name: str
    new: bool
    machines_wanted: int = 0
    locations: list[tuple[str, str, str | None]] = field(default_factory=list)  # (id, name, parent name)
    machines: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, location name)
    users: list[tuple[str, str]] = field(default_factory=list)  # (actor id, email)
    machine_locations: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (machine id, location id)


class Phase:
    """Counts rows of one phase and prints progress about every tenth of the way, then a summary."""

    def __init__(self, command: BaseCommand, name: str, total: int):
        self.command, self.name, self.total = command, name, total
        self.done = 0
        self.started = time.perf_counter()
        self.next_report = total // 10 if total >= 50_000 else total + 1

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.done >= self.next_report and self.done < self.total:
            self.next_report += self.total // 10
            self.command.log(f"  {self.name}: {self.done:,}/{self.total:,} {self._rate()}", level=2)

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        self.command.log(f"{self.name}: {self.done:,} rows {self._rate()}")
        return elapsed

    def _rate(self) -> str:
        elapsed = time.perf_counter() - self.started
        return f"in {elapsed:.1f} s ({self.done / elapsed if elapsed else 0:,.0f} rows/s)"


class Command(BaseCommand):
    help = "Fill the database with synthetic organizations, locations, machines and chained audit events."

    def add_arguments(self, parser):
        parser.add_argument("--orgs", type=int, default=100, help="organizations to add (default 100)")
        parser.add_argument("--machines", type=int, default=1000, help="machines to add (default 1000)")
        parser.add_argument("--audit-events", type=int, default=10000, help="audit events to add (default 10000)")
        parser.add_argument("--keys", type=int, default=0, help="API keys to add (default 0)")
        parser.add_argument(
            "--machines-per-location",
            type=int,
            default=MACHINES_PER_LOCATION,
            help=f"machines per location, so locations = machines / this (default {MACHINES_PER_LOCATION})",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed for sizes, names and picks (default 1)")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per bulk insert (default 5000)")
        parser.add_argument(
            "--transaction-rows",
            type=int,
            default=TRANSACTION_ROWS,
            help=f"rows per transaction (default {TRANSACTION_ROWS:,}); each commit is a consistent prefix",
        )

    def log(self, message: str, level: int = 1) -> None:
        if self.verbosity >= level:
            self.stdout.write(message)

    def handle(self, *args, orgs, machines, audit_events, seed, batch_size, transaction_rows, **options):
        self.verbosity = options.get("verbosity", 1)
        keys = options.get("keys", 0)
        self.machines_per_location = options.get("machines_per_location", MACHINES_PER_LOCATION)
        if min(orgs, machines, audit_events, keys) < 0 or batch_size < 1 or self.machines_per_location < 1:
            raise CommandError(
                "--orgs, --machines, --audit-events and --keys cannot be negative; "
                "--batch-size and --machines-per-location must be > 0."
            )
        if keys and not orgs:
            raise CommandError("Keys go into new organizations: give --orgs of at least 1.")
        if orgs == 0 and machines:
            raise CommandError("Machines go into new organizations' locations: give --orgs of at least 1.")
        self.rng = random.Random(seed)  # noqa: S311 -- synthetic data, reproducible on purpose
        self.batch_size = batch_size
        self.transaction_rows = max(transaction_rows, batch_size)
        started = time.perf_counter()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                # 256 MiB of page cache for this connection: random-uuid index inserts thrash the 2 MiB default.
                cursor.execute("PRAGMA cache_size = -262144")

        if orgs:
            pool = self._create_organizations(orgs)
            self._plan_machines(pool, machines)
            locations = self._create_locations(pool)
            self._create_machines(pool)
            counters.rebuild([org.id for org in pool])
            if keys:
                self._create_keys(pool, keys)
        else:
            pool, locations = self._existing_organizations(), 0
        if audit_events and not pool:
            raise CommandError("There is no organization to record audit events for: give --orgs.")
        events = self._create_audit_events(pool, audit_events) if audit_events else 0

        self.stdout.write(
            f"seed_scale: {orgs} orgs, {locations} locations, {machines} machines, "
            f"{f'{keys} keys, ' if keys else ''}{events} audit events"
            f" in {time.perf_counter() - started:.1f} s"
        )

    # -- fleet --------------------------------------------------------------------------------

    def _write(self, model, rows: Iterable, phase: Phase) -> None:
        """bulk_create rows in batches of --batch-size; commit every --transaction-rows rows and at the end."""
        rows = iter(rows)
        while True:
            in_transaction = 0
            with transaction.atomic():
                while in_transaction < self.transaction_rows:
                    batch = list(itertools.islice(rows, self.batch_size))
                    if not batch:
                        return
                    model.objects.bulk_create(batch, batch_size=self.batch_size)
                    phase.advance(len(batch))
                    in_transaction += len(batch)

    def _create_organizations(self, count: int) -> list[Org]:
        last = 0
        pattern = re.compile(rf"^{re.escape(ORG_PREFIX)}(\d+)$")
        for name in Organization.objects.filter(name__startswith=ORG_PREFIX).values_list("name", flat=True).iterator():
            match = pattern.match(name)
            if match:
                last = max(last, int(match.group(1)))
        pool = []
        for number in range(last + 1, last + 1 + count):
            org = Org(id=uuid.uuid4(), name=f"{ORG_PREFIX}{number:05d}", new=True)
            org.users = [
                (str(10_000_000 + number * 10 + k), f"ops{k}@scale-org-{number:05d}.example") for k in range(5)
            ]
            pool.append(org)
        phase = Phase(self, "organizations", count)
        self._write(Organization, (Organization(id=org.id, name=org.name) for org in pool), phase)
        phase.finish()
        return pool

    def _plan_machines(self, pool: list[Org], machines: int) -> None:
        """Skewed sizes: every organization gets a machine while there are enough, the rest go by a Pareto weight."""
        base = 1 if machines >= len(pool) else 0
        for org in pool:
            org.machines_wanted = base
        rest = machines - base * len(pool)
        cumulative, total = [], 0.0
        for _ in pool:
            total += self.rng.paretovariate(1.2)
            cumulative.append(total)
        last = len(pool) - 1
        for _ in range(rest):
            pool[min(bisect.bisect_right(cumulative, self.rng.random() * total), last)].machines_wanted += 1

    def _create_locations(self, pool: list[Org]) -> int:
        counts = [max(1, round(org.machines_wanted / self.machines_per_location)) for org in pool]
        phase = Phase(self, "locations", sum(counts))
        self._write(Location, self._locations(pool, counts), phase)
        phase.finish()
        return phase.done

    def _locations(self, pool: list[Org], counts: list[int]) -> Iterator[Location]:
        """Each organization's locations, parents before their children; records them on the Org as targets."""
        rng = self.rng
        for org, count in zip(pool, counts, strict=True):
            roots = min(count, rng.randint(1, 3))
            created: list[tuple[uuid.UUID, str, str, int]] = []  # (id, name, path, depth)
            nestable: list[int] = []  # indexes into created of the locations that may get a child
            children: dict[int, int] = {}
            for j in range(count):
                loc_id = uuid.uuid4()
                if j < roots:
                    parent = None
                    name = f"{rng.choice(CITIES)} {rng.choice(SITES)} {j + 1}"
                    path, depth = f"/{loc_id.hex}/", 0
                else:
                    parent_index = rng.choice(nestable)
                    parent = created[parent_index]
                    children[parent_index] = children.get(parent_index, 0) + 1
                    name = f"{rng.choice(AREAS)} {children[parent_index]}"  # numbered: unique among siblings
                    path, depth = f"{parent[2]}{loc_id.hex}/", parent[3] + 1
                if depth < NEST_LIMIT:
                    nestable.append(len(created))
                created.append((loc_id, name, path, depth))
                org.locations.append((str(loc_id), name, parent[1] if parent else None))
                yield Location(
                    id=loc_id, organization_id=org.id, parent_id=parent[0] if parent else None, name=name, path=path
                )

    def _create_machines(self, pool: list[Org]) -> None:
        phase = Phase(self, "machines", sum(org.machines_wanted for org in pool))
        self._write(Machine, self._machines(pool), phase)
        phase.finish()

    def _machines(self, pool: list[Org]) -> Iterator[Machine]:
        rng = self.rng
        for org in pool:
            for seq in range(1, org.machines_wanted + 1):
                loc_id, loc_name, _ = rng.choice(org.locations)
                machine_id = uuid.uuid4()
                name = f"{rng.choice(KINDS)}-{seq:05d}"  # numbered: unique in the organization, so in its location
                org.machines.append((str(machine_id), name, loc_name))
                org.machine_locations.append((machine_id, uuid.UUID(loc_id)))
                yield Machine(id=machine_id, organization_id=org.id, location_id=uuid.UUID(loc_id), name=name)

    def _create_keys(self, pool: list[Org], count: int) -> None:
        # The keys app builds on the fleet, not the other way round; only this bulk loader reaches up.
        from fleetadmin.keys import tokens
        from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization, ResourceType
        from fleetadmin.keys.services import KEY_PREFIX

        stored = tokens.hash_secret(tokens.generate(KEY_PREFIX))
        total_machines = sum(org.machines_wanted for org in pool) or 1
        shares = [count * org.machines_wanted // total_machines for org in pool]
        shares[max(range(len(pool)), key=lambda i: pool[i].machines_wanted)] += count - sum(shares)
        paths = dict(
            Location.objects.filter(organization_id__in=[org.id for org in pool]).values_list("pk", "path").iterator()
        )
        now = datetime.now(UTC)
        phase = Phase(self, "keys", count)
        rng = self.rng

        def rows() -> Iterator[tuple[ApiKey, ApiKeyAuthorization]]:
            for org, share in zip(pool, shares, strict=True):
                for n in range(share):
                    key = ApiKey(
                        id=uuid.uuid4(),
                        organization_id=org.id,
                        name=f"scale-key-{n + 1:06d}",
                        secret_hash=stored.hash,
                        pepper_id=stored.pepper_id,
                        created_at=now - HISTORY + HISTORY * (n + 1) / (share + 1),
                    )
                    kind = n % 3 if org.machines else 0
                    if kind == 0:
                        auth = ApiKeyAuthorization(
                            key=key, organization_id=org.id, role="organization_operator",
                            resource_type=ResourceType.ORGANIZATION, scope_path="/",
                        )  # fmt: skip
                    elif kind == 1:
                        loc_id = uuid.UUID(rng.choice(org.locations)[0])
                        auth = ApiKeyAuthorization(
                            key=key, organization_id=org.id, role="location_owner",
                            resource_type=ResourceType.LOCATION, location_id=loc_id, scope_path=paths[loc_id],
                        )  # fmt: skip
                    else:
                        machine_id, loc_id = rng.choice(org.machine_locations)
                        auth = ApiKeyAuthorization(
                            key=key, organization_id=org.id, role="robot_operator", resource_type=ResourceType.ROBOT,
                            machine_id=machine_id, scope_path=f"{paths[loc_id]}m{machine_id.hex}/",
                        )  # fmt: skip
                    yield key, auth

        pairs = rows()
        while True:
            batch = list(itertools.islice(pairs, self.batch_size))
            if not batch:
                break
            with transaction.atomic():
                ApiKey.objects.bulk_create([key for key, _ in batch], batch_size=self.batch_size)
                ApiKeyAuthorization.objects.bulk_create([auth for _, auth in batch], batch_size=self.batch_size)
            phase.advance(len(batch))
        phase.finish()

    def _existing_organizations(self) -> list[Org]:
        """Every organization already in the database, with its locations and machines as event targets."""
        pool = {
            org_id: Org(id=org_id, name=name, new=False)
            for org_id, name in Organization.objects.values_list("id", "name")
        }
        names = dict(Location.objects.values_list("id", "name").iterator())
        for loc_id, org_id, name, parent_id in Location.objects.values_list(
            "id", "organization_id", "name", "parent_id"
        ).iterator():
            pool[org_id].locations.append((str(loc_id), name, names.get(parent_id)))
        for machine_id, org_id, name, loc_id in Machine.objects.values_list(
            "id", "organization_id", "name", "location_id"
        ).iterator():
            pool[org_id].machines.append((str(machine_id), name, names[loc_id]))
        for number, org in enumerate(pool.values(), start=1):
            org.users = [(str(20_000_000 + number * 10 + k), f"ops{k}@org-{number:05d}.example") for k in range(5)]
        return list(pool.values())

    # -- audit --------------------------------------------------------------------------------

    def _chain_heads(self, pool: list[Org]) -> dict[uuid.UUID, tuple[str, datetime | None]]:
        """organization id -> (hash of its newest event, its created_at), for chains that already exist."""
        heads: dict[uuid.UUID, tuple[str, datetime | None]] = {}
        ids = [org.id for org in pool]
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            newest = (
                AuditEvent.objects.filter(organization_id__in=chunk)
                .order_by()
                .values("organization_id")
                .annotate(newest=Max("id"))
                .values_list("newest", flat=True)
            )
            newest = list(newest)
            for sub in range(0, len(newest), ID_CHUNK):
                for org_id, hash_, created_at in AuditEvent.objects.filter(
                    id__in=newest[sub : sub + ID_CHUNK]
                ).values_list("organization_id", "hash", "created_at"):
                    heads[org_id] = (hash_, created_at)
            # A chain pruned to nothing resumes from its checkpoint (as audit_verify expects).
            for org_id, hash_ in (
                ChainCheckpoint.objects.filter(organization_id__in=chunk)
                .order_by("organization_id", "last_pruned_event_id")
                .values_list("organization_id", "last_pruned_hash")
            ):
                if org_id not in heads or heads[org_id][1] is None:
                    heads[org_id] = (hash_, None)
        return heads

    def _create_audit_events(self, pool: list[Org], count: int) -> int:
        phase = Phase(self, "audit events", count)
        self._write(AuditEvent, self._audit_events(pool, count), phase)
        phase.finish()
        return phase.done

    def _audit_events(self, pool: list[Org], count: int) -> Iterator[AuditEvent]:
        """Events over the last 90 days, oldest first, each org picked by size; hashed onto its org's chain."""
        rng = self.rng
        heads = self._chain_heads(pool)
        cumulative, total = [], 0
        for org in pool:
            total += len(org.machines) + len(org.locations) + 1
            cumulative.append(total)
        action_names = [name for name, _ in ACTIONS]
        action_cumulative = list(itertools.accumulate(weight for _, weight in ACTIONS))
        now = datetime.now(UTC)
        start, step = now - HISTORY, HISTORY / count
        one_us = timedelta(microseconds=1)
        last = len(pool) - 1
        for n in range(count):
            org = pool[min(bisect.bisect_right(cumulative, rng.random() * total), last)]
            prev_hash, prev_at = heads.get(org.id, ("", None))
            created_at = start + step * (n + rng.random())
            if prev_at is not None and created_at <= prev_at:
                created_at = prev_at + one_us  # keep created_at ascending along the chain
            if org.new and org.id not in heads:
                action = "fleet.organization.create"
            else:
                action = action_names[bisect.bisect_right(action_cumulative, rng.random() * action_cumulative[-1])]
            event = self._event(org, action, created_at)
            event.prev_hash = prev_hash
            event.hash = event_hash(event, prev_hash)
            heads[org.id] = (event.hash, created_at)
            yield event

    def _event(self, org: Org, action: str, created_at: datetime) -> AuditEvent:
        rng = self.rng
        if action.startswith("fleet.machine.") and not org.machines:
            action = action.replace("machine", "location")
        if action.startswith("fleet.location.") and not org.locations:
            action = "audit.log.export"
        target_type = target_id = target_name = ""
        if action == "fleet.organization.create":
            target_type, target_id, target_name = "fleet.organization", str(org.id), org.name
            changes = {"after": {"name": org.name}}
        elif action.startswith("fleet.machine."):
            target_id, target_name, location_name = rng.choice(org.machines)
            target_type = "fleet.machine"
            if action == "fleet.machine.create":
                changes = {"after": {"name": target_name, "location": location_name}}
            else:
                changes = {"before": {"name": f"{target_name}-old"}, "after": {"name": target_name}}
        elif action.startswith("fleet.location."):
            target_id, target_name, parent_name = rng.choice(org.locations)
            target_type = "fleet.location"
            if action == "fleet.location.create":
                changes = {"after": {"name": target_name, "parent": parent_name}}
            else:
                changes = {"before": {"name": f"{target_name} (old)"}, "after": {"name": target_name}}
        else:
            changes = {"after": {"format": rng.choice(["csv", "jsonl"]), "filter": f"action:{rng.choice(KINDS)}"}}

        if action == "fleet.organization.create" or (action != "audit.log.export" and rng.random() < SYSTEM_SHARE):
            actor_type, actor_id, actor_name = ActorType.SYSTEM, "", "system"
            request_id, ip, user_agent = "", None, ""
        else:
            actor_type = ActorType.USER
            actor_id, actor_name = rng.choice(org.users)
            request_id = f"{rng.getrandbits(128):032x}"
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            user_agent = rng.choice(USER_AGENTS)
        return AuditEvent(
            created_at=created_at,
            organization_id=org.id,
            actor_type=actor_type,
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_name=target_name,
            changes=changes,
            request_id=request_id,
            ip=ip,
            user_agent=user_agent,
            ticket="",
        )
