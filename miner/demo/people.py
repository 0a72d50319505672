"""Who is in the demo account: customer organisations and their users, individual requesters, agents.

Organisations range from a few big customers to a long tail of small ones; each has a plan, a region,
a language, the tools it uses (payroll, identity provider, calendar, chat) and the tags Zendesk shows.
Requesters without an organisation get a one-person pseudo-organisation, so their messages have the
same context to draw on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from miner.demo import catalogue as cat
from miner.demo.chance import Chance, cumulative, table

ORG_ID_BASE = 36_000_000_000
USER_ID_BASE = 37_000_000_000
AGENT_ID_BASE = 38_000_000_000
INDIVIDUAL_SHARE = 0.05  # requesters without an organisation

_ORG_REGIONS = table(("amer", "emea", "apac"), (0.55, 0.35, 0.10))
_PERSON_REGIONS = table(("amer", "emea", "apac"), (0.6, 0.3, 0.1))
_EMEA_LANGUAGES = table(("en", "de", "fr", "nl", "es", "pt"), (0.55, 0.15, 0.1, 0.08, 0.07, 0.05))


@dataclass(slots=True)
class User:
    id: int
    first: str
    last: str
    title: str
    email: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Org:
    id: int | None  # None = individuals, no organisation
    name: str
    industry: str
    plan: str
    region: str
    lang: str  # "en" or a key of catalogue.LANGUAGES
    vip: bool
    payroll: str
    idp: str
    calendar: str
    chat: str
    n_staff: str
    tags: tuple[str, ...]
    users: list[User]


class Agents:
    """Shiftwise's support team: the last `catalogue.BILLING_AGENTS` handle billing."""

    def __init__(self) -> None:
        self.ids = [AGENT_ID_BASE + i + 1 for i in range(len(cat.AGENT_NAMES))]
        self.names = dict(zip(self.ids, cat.AGENT_NAMES, strict=True))
        self.first = {aid: name.split()[0] for aid, name in self.names.items()}
        self.support = self.ids[: -cat.BILLING_AGENTS]
        self.billing = self.ids[-cat.BILLING_AGENTS:]


class People(Chance):
    """Builds the customers once (`build`), then picks who writes each ticket (`requester`)."""

    def __init__(self, rng: random.Random, n_orgs: int, n_tickets: int) -> None:
        super().__init__(rng)
        self.n_orgs = n_orgs
        self.n_tickets = n_tickets
        self.agents = Agents()
        self.next_user = 0
        self.orgs: list[Org] = []
        self.org_cum: list[float] = []
        self.individuals: list[Org] = []

    def build(self) -> None:
        self.orgs, weights = self._build_orgs()
        self.org_cum = cumulative(weights)
        self.individuals = self._build_individuals()

    def requester(self) -> tuple[Org, User]:
        """The organisation and the user writing the next ticket."""
        if self.random() < INDIVIDUAL_SHARE:
            org = self.pick(self.individuals)
            return org, org.users[0]
        org = self.weighted((self.orgs, self.org_cum))
        return org, org.users[0] if self.random() < 0.4 else self.pick(org.users)  # the admin writes most

    def agent(self, billing: bool) -> int:
        """The agent a ticket is assigned to: billing questions go to the billing agents."""
        return self.pick(self.agents.billing if billing else self.agents.support)

    def organizations(self) -> dict[int, str]:
        """Organisation id -> name, in id order (individuals have none)."""
        return {org.id: org.name for org in sorted(self.orgs, key=lambda o: o.id or 0) if org.id}

    # --- building -------------------------------------------------------------------------------
    def _new_user(self) -> User:
        self.next_user += 1
        first, last = self.pick(cat.FIRST_NAMES), self.pick(cat.LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        return User(USER_ID_BASE + self.next_user, first, last, self.pick(cat.ROLE_TITLES),
                    f"{local}@example.com")

    def _org_names(self) -> list[tuple[str, str]]:
        """(industry, unique company name) for every organisation."""
        names: list[tuple[str, str]] = []
        seen: set[str] = set()
        industries = list(cat.INDUSTRIES)
        while len(names) < self.n_orgs:
            industry = self.pick(industries)
            base = f"{self.pick(cat.COMPANY_PREFIXES)} {self.pick(cat.INDUSTRIES[industry][0])}"
            name = base + self.pick(cat.COMPANY_SUFFIXES)
            if name in seen:
                name = f"{base} {self.pick(('North', 'South', 'East', 'West', 'UK', 'US', 'Group', 'Holdings'))}"
                if name in seen:
                    name = f"{base} {len(names) + 1}"
            seen.add(name)
            names.append((industry, name))
        return names

    def _build_orgs(self) -> tuple[list[Org], list[float]]:
        rng = self.rng
        orgs: list[Org] = []
        weights: list[float] = []
        for rank, (industry, name) in enumerate(self._org_names()):
            size = 1.0 / (rank + 1) ** 0.8  # a few big customers, a long tail of small ones
            share = rank / self.n_orgs
            plan = "enterprise" if share < 0.15 else "business" if share < 0.55 else "starter"
            if rng.random() < 0.15:
                plan = self.pick(cat.PLANS)
            region = self.weighted(_ORG_REGIONS)
            lang = "en"
            if region == "emea":
                lang = self.weighted(_EMEA_LANGUAGES)
            elif region == "amer" and rng.random() < 0.06:
                lang = "es"
            staff = max(8, int(2500 * size * rng.uniform(0.5, 1.5)))
            n_staff = f"{staff:,}" if staff < 1000 or rng.random() < 0.5 else f"over {staff // 100 * 100:,}"
            vip = share < 0.05
            tags = [f"plan_{plan}", f"region_{region}"]
            if lang != "en":
                tags.append(f"lang_{lang}")
            if vip:
                tags.append("vip")
            extra = rng.random()
            if extra < 0.06:
                tags.append("onboarding")
            elif extra < 0.09:
                tags.append("churn_risk")
            elif extra < 0.14:
                tags.append("renewal_due")
            n_users = 2 + min(10, int(size * 40)) + rng.randint(0, 2)
            org = Org(
                id=ORG_ID_BASE + rank + 1, name=name, industry=industry, plan=plan, region=region,
                lang=lang, vip=vip, payroll=self.pick(cat.PAYROLL_TOOLS),
                idp=self.pick(cat.IDENTITY_PROVIDERS), calendar=self.pick(cat.CALENDARS),
                chat=self.pick(cat.CHAT_TOOLS), n_staff=n_staff, tags=tuple(tags),
                users=[self._new_user() for _ in range(n_users)],
            )
            orgs.append(org)
            weights.append(size)
        order = list(range(len(orgs)))
        rng.shuffle(order)  # ids should not reveal size
        for new_index, org in zip(order, list(orgs), strict=True):
            org.id = ORG_ID_BASE + new_index + 1
        return orgs, weights

    def _build_individuals(self) -> list[Org]:
        """Requesters without an organisation: each gets a one-person pseudo-org for context."""
        rng = self.rng
        count = max(5, int(self.n_tickets * INDIVIDUAL_SHARE / 1.6))
        people: list[Org] = []
        for _ in range(count):
            industry = self.pick(list(cat.INDUSTRIES))
            plan = self.pick(("starter", "starter", "trial"))
            region = self.weighted(_PERSON_REGIONS)
            owner = self._new_user()
            business = f"{owner.last} {self.pick(cat.INDUSTRIES[industry][0])}"  # a small business
            people.append(Org(
                id=None, name=business, industry=industry, plan=plan, region=region, lang="en",
                vip=False, payroll=self.pick(cat.PAYROLL_TOOLS), idp=self.pick(cat.IDENTITY_PROVIDERS),
                calendar=self.pick(cat.CALENDARS), chat=self.pick(cat.CHAT_TOOLS),
                n_staff=str(rng.randint(4, 40)), tags=(f"plan_{plan}", f"region_{region}", "self_serve"),
                users=[owner],
            ))
        return people
