"""The contract's search attributes, declared once (typed keys)."""

from typing import Any

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("EscalationStage")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
CUSTOMER_TIER = SearchAttributeKey.for_keyword("CustomerTier")
TRIGGER = SearchAttributeKey.for_keyword("Trigger")
AVOIDABLE = SearchAttributeKey.for_bool("Avoidable")
ASSIGNED_TEAM = SearchAttributeKey.for_keyword("AssignedTeam")
ASSIGNEE = SearchAttributeKey.for_keyword("Assignee")
SLA_DUE_AT = SearchAttributeKey.for_datetime("SlaDueAt")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
RESOLVED_AT_TIER = SearchAttributeKey.for_keyword("ResolvedAtTier")
POLICY_VERSION = SearchAttributeKey.for_keyword("PolicyVersion")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
# Beyond the contract, for reports: when the case was resolved, and whether within its
# resolution clock.
RESOLVED_AT = SearchAttributeKey.for_datetime("ResolvedAt")
RESOLVED_WITHIN_SLA = SearchAttributeKey.for_bool("ResolvedWithinSla")
# Beyond the contract, for the console's inboxes (one visibility query each, no per-case query):
# the pending approval's level (rank of the role asked: 0 supervisor, 1 manager, 2 executive)
# and the authority it needs; and what the escalated-accounts manager must look at (ATTENTION).
PENDING_LEVEL = SearchAttributeKey.for_int("PendingLevel")
PENDING_AUTHORITY = SearchAttributeKey.for_float("PendingAuthority")
ATTENTION = SearchAttributeKey.for_keyword_list("Attention")
# The values of ATTENTION
AT_RISK = "at_risk"  # a running clock past 75 % of its target, not breached
UNDELIVERED = "undelivered"  # a message no channel delivered (`notification_failed`)
AWAITING_ACK = "awaiting_ack"  # transferred to a specialist who has not acknowledged it

ALL: list[SearchAttributeKey[Any]] = [
    STAGE,
    SEVERITY,
    CUSTOMER_ID,
    CUSTOMER_TIER,
    TRIGGER,
    AVOIDABLE,
    ASSIGNED_TEAM,
    ASSIGNEE,
    SLA_DUE_AT,
    SLA_BREACHED,
    RESOLVED_AT_TIER,
    POLICY_VERSION,
    CHANNEL,
    RESOLVED_AT,
    RESOLVED_WITHIN_SLA,
    PENDING_LEVEL,
    PENDING_AUTHORITY,
    ATTENTION,
]


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    names = {
        "KEYWORD": "Keyword",
        "BOOL": "Bool",
        "DATETIME": "Datetime",
        "TEXT": "Text",
        "INT": "Int",
        "DOUBLE": "Double",
        "KEYWORD_LIST": "KeywordList",
    }
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={names[key.indexed_value_type.name]}"]
    return flags
