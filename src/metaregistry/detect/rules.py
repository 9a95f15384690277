"""The classification rules: one table, read top to bottom, first match wins.

A rule looks at two blocks of different registries that hold the same units (each the most
final record of its registry on those units, see :mod:`metaregistry.detect.cluster`) and
decides what their overlap *is*: a legitimate move recorded as a **link** (conversion,
transition, mirror, tokenization, compliance move), a double-counting **alert** (double
issuance, double use, use after transfer) with a severity, or nothing worth recording.

A rule names two roles, ``first`` and ``second``. When the second block's ``origin`` points at
the first (see :func:`points_at`), the first is the source and the second the target; rules that
need that say ``link=LINKED``. A rule is tried with both blocks in both roles before the next
rule is tried, so the order of the table is the order of precedence.

Conditions:

* ``first`` / ``second``: status groups, :data:`LIVE` (issued, pending, buffer), :data:`USED`
  (retired) and :data:`GONE` (cancelled, transferred, expired), as in :mod:`metaregistry.model`,
  or single statuses where a move needs one (:data:`MOVED`: cancelled or transferred, never
  expired; a JCM mirror's source ``transferred``);
* ``link``: :data:`LINKED` (the second's origin points at the first), :data:`UNLINKED` (no
  origin points either way), :data:`FORWARD` (either of those: never the first pointing at
  the second) or :data:`ANY`;
* ``reason``: a class of the first block's ``status_reason`` (:data:`REASONS`: ``bridge``,
  ``compliance``, ``transition``, ``ambiguous``); ``reason_not``: a class it must not name
  (the source says it gave the units up for another move: a bridge's);
* ``scheme``: the numbering scheme of both blocks (``jcm``, ``cdm``);
* ``article6``: ``itmo_without_ca`` when the first block was first-transferred as an ITMO
  (``first_transfer_date`` or ``itmo_id`` set) and its corresponding adjustment is not
  ``applied``; ``ca_pending_in_window`` when that adjustment is ``pending`` and the second
  block's use falls inside :data:`CA_WINDOW_DAYS` of the first transfer; ``itmo`` when the
  first block was first-transferred as an ITMO at all;
* ``target``: the roles the second block's registry must have (:func:`role_of`: ``bridge``,
  ``compliance``, ``national``, ``jcm``, ``standard``): who can receive the move;
* ``names_source``: the second block names the first (its origin points at it, or it carries
  the very same serial, as CDM CERs moved to Gold Standard do).

**A link needs both sides to agree with the move** (issue 23). A reason string is the
source registry's free text: it says which move was meant, never that it happened. Per link
kind, what each side must show:

=================  ===========================================  ==================================
link kind          source (first)                               target (second)
=================  ===========================================  ==================================
tokenization       retired, reason names a bridge               a bridge's registry, any state;
                                                                never the bridge pointing back
custody            live in a sub-account whose reason names     a bridge's registry, live, naming
                   the bridge                                   the held block
compliance_move    cancelled/transferred (not expired), reason  a compliance programme (CARB,
                   names the programme                          Ecology), any state
transition         cancelled/transferred (not expired), CDM     a standard's or national registry
                   scheme or a transition reason; the CDM       (not a bridge or a compliance
                   rule: no bridge named in the reason          programme), any state
mirror             transferred out of a JCM ledger (not         the other JCM ledger, naming the
                   cancelled, not expired)                      moved units, any state
conversion         cancelled/transferred (not expired), no      a national registry, live, used or
                   bridge named in the reason                   closed, naming the source
=================  ===========================================  ==================================

"Any state" for a target: once the source gave the units up as the move requires, what the
target then does with them (hold, retire, pass on) is the one claim on them.

Anything else on overlapping units is an alert of the kind the states say: units gone from one
registry (for no move the other side agrees with) and live or used in another are a double
issuance; units first-transferred as an ITMO and also retired elsewhere are a double use (two
claims), with a corresponding adjustment still pending inside its window a low note.

Quantity mismatch is not a status pattern of one pair: :mod:`metaregistry.detect.findings`
finds it across all the pairs of a target (a conversion or a JCM mirror that does not add up).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from metaregistry.model import GONE_STATUSES, LIVE_STATUSES, USED_STATUSES, UnitBlock

__all__ = [
    "ALERT_KINDS",
    "ANY",
    "CA_WINDOW_DAYS",
    "FORWARD",
    "GONE",
    "LINKED",
    "LINK_KINDS",
    "LIVE",
    "REASONS",
    "ROLES",
    "RULES",
    "SEVERITIES",
    "UNLINKED",
    "USED",
    "Rule",
    "Verdict",
    "classify",
    "group_of",
    "itmo_without_ca",
    "names_source",
    "points_at",
    "reason_classes",
    "role_of",
]

LIVE: Final = "live"
USED: Final = "used"
GONE: Final = "gone"
LINKED: Final = "linked"
UNLINKED: Final = "unlinked"
#: Linked or unlinked, but not reversed: the first block is not the one whose origin points
#: at the second (a bridge's own record, whose reason names the bridge, is never the source).
FORWARD: Final = "forward"
REVERSED: Final = "reversed"
ANY: Final = "any"

ALERT_KINDS: Final = (
    "double_issuance",
    "double_use",
    "use_after_transfer",
    "quantity_mismatch",
    "internal_overlap",
)
LINK_KINDS: Final = (
    "conversion",
    "transition",
    "mirror",
    "tokenization",
    "compliance_move",
    "custody",
)
#: Severities, least severe first.
SEVERITIES: Final = ("low", "medium", "high", "critical")

# Words seen in real retirement and cancellation reasons: Verra's "retired for tokenization"
# rows name Toucan, Regen, Stellar (stellarcarbon.io), Moss (MCO2), C3, Flowcarbon; ACR's
# cancellation type "Convert to ARB offset credits" / "... Ecology ...", CAR's "ARB" / "WA ECO".
REASONS: Final = {
    "bridge": re.compile(
        r"tokeni[sz]|bridg|toucan|\bregen\b|regen network|stellar|\bmoss\b|mco2|\bc3\b|"
        r"flowcarbon|klima|thallo|on-?chain|blockchain|\btco2\b|\bbct\b|\bnct\b",
        re.IGNORECASE,
    ),
    "compliance": re.compile(
        r"\barb\b|\bcarb\b|arb offset|wa eco|\becology\b|california|cap-and-trade|compliance",
        re.IGNORECASE,
    ),
    # The verra connector's words for old exports that list retirements and cancellations
    # together (OffsetsDB's note: "not distinguished in the old export").
    "ambiguous": re.compile(r"does not tell them apart|retired or cancelled", re.IGNORECASE),
    "transition": re.compile(
        r"transition|article 6\.4|\ba6\.4|paris agreement crediting|\bpacm\b", re.IGNORECASE
    ),
}

#: Days after a first transfer within which a ``pending`` corresponding adjustment is normal:
#: a host reports (and applies) adjustments in its biennial transparency report, which covers
#: the year of the first transfer and is due by the end of the year after the next one.
CA_WINDOW_DAYS: Final = 3 * 366

#: What a registry can receive (issue 23). A move is a link only when its target has the
#: role the move needs: a bridge for tokenization and custody, a compliance programme for a
#: compliance move, the partner JCM ledger for a mirror, a national registry for a conversion.
BRIDGE_REGISTRIES: Final = re.compile(
    r"^(toucan|regen|stellar|moss|mco2|c3|flowcarbon|klima|thallo|celo|base-carbon)"
)
COMPLIANCE_REGISTRIES: Final = frozenset({"carb", "arb", "ecology", "wa-ecology", "quebec"})
NATIONAL_REGISTRIES: Final = frozenset({"srn-ppi", "tccr", "spe-grk", "tver"})
ROLES: Final = ("bridge", "compliance", "national", "jcm", "standard")


@functools.lru_cache(maxsize=4096)
def role_of(registry: str) -> str:
    """The role of a registry in a move (see :data:`ROLES`)."""
    slug = registry.lower()
    if slug.startswith("jcm-") or slug == "jcm":
        return "jcm"
    if slug in NATIONAL_REGISTRIES:
        return "national"
    if slug in COMPLIANCE_REGISTRIES:
        return "compliance"
    if BRIDGE_REGISTRIES.match(slug):
        return "bridge"
    return "standard"


_GROUPS: Final = {
    **{s.value: LIVE for s in LIVE_STATUSES},
    **{s.value: USED for s in USED_STATUSES},
    **{s.value: GONE for s in GONE_STATUSES},
}
_ALL: Final = frozenset({LIVE, USED, GONE})
#: How a source gives units up for a move (conversion, transition, compliance move): cancelled
#: or transferred out, never merely expired (expired units are nobody's to move).
MOVED: Final = "cancelled|transferred"


def group_of(status: str) -> str | None:
    """The status group of a block status; None for ``withdrawn`` (ignored by detection)."""
    return _GROUPS.get(status)


@functools.lru_cache(maxsize=65536)
def reason_classes(reason: str | None) -> frozenset[str]:
    """The classes of :data:`REASONS` that a status reason names."""
    if not reason:
        return frozenset()
    return frozenset(name for name, pattern in REASONS.items() if pattern.search(reason))


def itmo_without_ca(block: UnitBlock) -> bool:
    """First-transferred as an ITMO without a corresponding adjustment applied."""
    transferred = block.first_transfer_date is not None or block.itmo_id is not None
    return transferred and block.corresponding_adjustment != "applied"


def first_transferred(block: UnitBlock) -> bool:
    """First-transferred as an ITMO (whatever the state of its adjustment)."""
    return block.first_transfer_date is not None or block.itmo_id is not None


def _day(text: str | None) -> int | None:
    from datetime import date

    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]).toordinal()
    except ValueError:
        return None


def ca_pending_in_window(itmo: UnitBlock, use: UnitBlock) -> bool:
    """The ITMO's corresponding adjustment is ``pending`` and the other side's use falls
    within :data:`CA_WINDOW_DAYS` of the first transfer (a use without a date counts as
    inside: the adjustment may still come)."""
    if not first_transferred(itmo) or itmo.corresponding_adjustment != "pending":
        return False
    start, used = _day(itmo.first_transfer_date), _day(use.status_date)
    if start is None or used is None:
        return True
    return used - start <= CA_WINDOW_DAYS


def names_source(target: UnitBlock, source: UnitBlock) -> bool:
    """The target names its source: its origin points at it, or it carries the source's very
    serial (CDM CERs moved to Gold Standard keep theirs)."""
    return points_at(target, source) or (
        target.registry != source.registry and target.serial == source.serial
    )


@functools.lru_cache(maxsize=65536)
def _origin_range(origin: str) -> tuple[str, str, int, int] | None:
    from metaregistry.serials import SerialError, parse_serial

    try:
        parsed = parse_serial(origin)
    except SerialError:
        return None
    return parsed.scheme, parsed.scope, parsed.block_start, parsed.block_end


def points_at(target: UnitBlock, source: UnitBlock) -> bool:
    """True when ``target.origin`` names ``source``: the same serial, or a serial of the same
    units when ``source`` is a record of the credits' own registry (no origin of its own)."""
    origin = target.origin
    if origin is None or target.registry == source.registry:
        return False
    if origin == source.serial:
        return True
    if source.origin is not None:
        return False
    named = _origin_range(origin)
    if named is None:
        return False
    scheme, scope, start, end = named
    return (
        scheme == source.scheme
        and scope == source.scope
        and start <= source.block_end
        and source.block_start <= end
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table. Exactly one of ``link_kind`` and ``alert_kind`` is set, or
    neither for an overlap that is no double counting and no move (``template`` then says
    why)."""

    name: str
    first: frozenset[str]
    second: frozenset[str]
    link: str = ANY
    reason: str | None = None
    reason_not: str | None = None
    scheme: str | None = None
    article6: str | None = None
    target: frozenset[str] | None = None
    names_source: bool = False
    link_kind: str | None = None
    alert_kind: str | None = None
    severity: str | None = None
    template: str = ""


def _rule(
    name: str,
    first: str,
    second: str,
    *,
    target: str | None = None,
    names_source: bool = False,
    **kw: str,
) -> Rule:
    def groups(text: str) -> frozenset[str]:
        return _ALL if text == "*" else frozenset(text.split("|"))

    roles = None if target is None else frozenset(target.split("|"))
    return Rule(
        name=name,
        first=groups(first),
        second=groups(second),
        target=roles,
        names_source=names_source,
        **kw,
    )


# Explanation templates: {first} and {second} read "<registry> serial <serial> (<status>)" (a
# list when several records of one registry are involved), {units} "units 100-199 of vcs".
RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "itmo-ca-pending",
        "*",
        "used",
        article6="ca_pending_in_window",
        alert_kind="use_after_transfer",
        severity="low",
        template="{first} was first-transferred as an ITMO and its corresponding adjustment "
        "is still pending, inside the window a host has to apply it; {second} retired the "
        "same {units}. A note to follow, not yet a double claim.",
    ),
    _rule(
        "itmo-then-retired",
        "*",
        "used",
        article6="itmo_without_ca",
        alert_kind="use_after_transfer",
        severity="critical",
        template="{first} was first-transferred as an ITMO without a corresponding adjustment, "
        "yet {second} retired the same {units}: the host and the buyer both count them.",
    ),
    _rule(
        "tokenized",
        "used",
        "*",
        link=FORWARD,
        reason="bridge",
        target="bridge",
        link_kind="tokenization",
        template="{first} was retired to bridge the {units} to {second_registry}.",
    ),
    _rule(
        "ambiguous-source",
        "used",
        "*",
        link=LINKED,
        reason="ambiguous",
        alert_kind="use_after_transfer",
        severity="low",
        template="{first} is listed as retired or cancelled (its export does not tell them "
        "apart), and {second} holds the {units} from it: a conversion if it was a "
        "cancellation, a use after transfer if it was a retirement. Check the source registry.",
    ),
    _rule(
        "compliance-move",
        MOVED,
        "*",
        reason="compliance",
        target="compliance",
        link_kind="compliance_move",
        template="{first} was cancelled to move the {units} into a compliance programme.",
    ),
    _rule(
        "cdm-transition",
        MOVED,
        "*",
        scheme="cdm",
        target="standard|national",
        reason_not="bridge",
        link_kind="transition",
        template="{first} left the CDM registry; {second} holds the {units} now.",
    ),
    _rule(
        "transition",
        MOVED,
        "*",
        reason="transition",
        target="standard|national",
        link_kind="transition",
        template="{first} transitioned the {units} to {second_registry}.",
    ),
    _rule(
        "jcm-mirror",
        "transferred",
        "*",
        link=LINKED,
        scheme="jcm",
        target="jcm",
        link_kind="mirror",
        template="{first} transferred the {units} to the other JCM ledger: {second}.",
    ),
    _rule(
        "converted",
        MOVED,
        "live|used",
        link=LINKED,
        target="national",
        reason_not="bridge",
        link_kind="conversion",
        template="{first} left its registry; {second} holds the {units} now.",
    ),
    _rule(
        "converted-gone",
        MOVED,
        "gone",
        link=LINKED,
        target="national",
        reason_not="bridge",
        link_kind="conversion",
        template="{first} was converted into {second}; both are closed now.",
    ),
    _rule(
        "itmo-claimed-twice",
        "gone",
        "used",
        article6="itmo",
        alert_kind="double_use",
        severity="critical",
        template="{first} was first-transferred as an ITMO (its buyer claims the {units}), "
        "yet {second} retired the same units: two claims on the same tonnes.",
    ),
    _rule(
        "itmo-live-elsewhere",
        "gone",
        "live",
        article6="itmo",
        alert_kind="double_issuance",
        severity="high",
        template="{first} was first-transferred as an ITMO, yet {second} still holds the "
        "same {units} live: they can be sold and used a second time.",
    ),
    _rule(
        "both-gone",
        "gone",
        "gone",
        template="Neither registry holds the {units} any more.",
    ),
    _rule(
        "used-after-move",
        "used",
        "live",
        link=LINKED,
        alert_kind="use_after_transfer",
        severity="high",
        template="{first} retired the {units} after they were moved to {second}, which "
        "still holds them: a claim in the source registry on units that left it.",
    ),
    _rule(
        "double-use",
        "used",
        "used",
        alert_kind="double_use",
        severity="critical",
        template="The same {units} are retired twice: {first} and {second}. Two claims on "
        "the same tonnes.",
    ),
    _rule(
        "custody",
        "live",
        "live",
        link=LINKED,
        reason="bridge",
        target="bridge",
        link_kind="custody",
        template="{first} holds the {units} in a bridge's custody sub-account while "
        "{second} circulates tokens backed by them: one set of units, held in custody.",
    ),
    _rule(
        "double-issuance-live",
        "live",
        "live",
        alert_kind="double_issuance",
        severity="high",
        template="The same {units} are live in two registries: {first} and {second}. Neither "
        "side cancelled or transferred them, so they can be sold and used twice.",
    ),
    _rule(
        "double-issuance-used",
        "used",
        "live",
        alert_kind="double_issuance",
        severity="high",
        template="{first} retired the {units}, yet {second} still holds them live: they can "
        "be used a second time.",
    ),
    _rule(
        "gone-then-used-elsewhere",
        "gone",
        "used",
        alert_kind="double_issuance",
        severity="high",
        template="{first} gave the {units} up for no move {second_registry} agrees with "
        "(it is not a registry that move goes to, or it does not name the source), yet "
        "{second} retired them: units issued twice, one set already claimed.",
    ),
    _rule(
        "gone-then-live-elsewhere",
        "gone",
        "live",
        alert_kind="double_issuance",
        severity="high",
        template="{first} gave the {units} up for no move {second_registry} agrees with "
        "(it is not a registry that move goes to, or it does not name the source), yet "
        "{second} holds them live: they can be sold and used twice.",
    ),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a pair of blocks is: the rule that matched and the blocks in its roles."""

    rule: Rule
    first: UnitBlock
    second: UnitBlock

    @property
    def is_alert(self) -> bool:
        return self.rule.alert_kind is not None


def _in(status: str, allowed: frozenset[str]) -> bool:
    """A status is allowed by its own name or by its group's."""
    return status in allowed or _GROUPS.get(status) in allowed


def _matches(rule: Rule, first: UnitBlock, second: UnitBlock, link: str) -> bool:
    if not _in(first.status, rule.first) or not _in(second.status, rule.second):
        return False
    if rule.link == FORWARD:
        if link == REVERSED:
            return False
    elif rule.link not in (ANY, link):
        return False
    if rule.reason is not None and rule.reason not in reason_classes(first.status_reason):
        return False
    if rule.reason_not is not None and rule.reason_not in reason_classes(first.status_reason):
        return False
    if rule.scheme is not None and first.scheme != rule.scheme:
        return False
    if rule.target is not None and role_of(second.registry) not in rule.target:
        return False
    if rule.names_source and not names_source(second, first):
        return False
    if rule.article6 == "itmo_without_ca":
        return itmo_without_ca(first)
    if rule.article6 == "ca_pending_in_window":
        return ca_pending_in_window(first, second)
    if rule.article6 == "itmo":
        return first_transferred(first)
    return True


def classify(a: UnitBlock, b: UnitBlock, rules: Sequence[Rule] = RULES) -> Verdict | None:
    """The first rule matching the pair (in either role order), or None when no rule does.
    Requires two blocks of different registries, neither withdrawn."""
    b_from_a = points_at(b, a)
    a_from_b = points_at(a, b)
    orders = (
        (a, b, LINKED if b_from_a else UNLINKED if not a_from_b else REVERSED),
        (b, a, LINKED if a_from_b else UNLINKED if not b_from_a else REVERSED),
    )
    for rule in rules:
        for first, second, link in orders:
            if _matches(rule, first, second, link):
                return Verdict(rule=rule, first=first, second=second)
    return None
