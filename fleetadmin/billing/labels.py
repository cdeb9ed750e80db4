"""How a billing audit event reads in a sentence (the billing page's history and the invoice's)."""

from decimal import Decimal

from fleetadmin.billing.money import format_usd

EVENT_LABELS = {
    "billing.service.enable": "enabled billing",
    "billing.service.update": "changed the billing address",
    "billing.service.disable": "disabled billing",
    "billing.customer.attach": "attached customer",
    "billing.customer.detach": "detached customer",
    "billing.customer.invite": "invited organization",
    "billing.customer.invitation_decline": "was declined by the organization invited as",
    # the name before 2026-12 (events already in the hash chain keep it)
    "billing.customer.invitation_declined": "was declined by the organization invited as",
    "billing.customer.invitation_cancel": "cancelled the invitation of",
    "billing.invitation.receive": "received an invitation to be billed by",
    "billing.invitation.accept": "accepted to be billed by",
    "billing.invitation.decline": "declined to be billed by",
    "billing.invitation.cancel": "saw its invitation withdrawn by",
    "billing.invoice.create": "issued invoice",
    "billing.invoice.pay": "marked paid",
    "billing.invoice.void": "voided",
}


def usd(amount) -> str:
    """``Decimal("1250.5")`` -> ``$1,250.50``."""
    if amount is None or amount == "":
        return ""
    return format_usd(amount if isinstance(amount, Decimal) else Decimal(str(amount)))


def billing_event(event) -> str:
    """A billing audit event as a short sentence fragment: “issued invoice INV-00007 to Globex”."""
    label = EVENT_LABELS.get(event.action, event.action)
    after = (event.changes or {}).get("after") or {}
    before = (event.changes or {}).get("before") or {}
    facts = after or before
    if event.action.startswith("billing.invitation."):
        return f"{label} {facts.get('billing_organization', '')}"
    if event.action.startswith("billing.customer.invit"):
        return f"{label} {facts.get('customer_id', '')}"
    if event.action.startswith("billing.customer."):
        return f"{label} {facts.get('customer') or event.target_name}"
    if event.action == "billing.invoice.create":
        total = facts.get("total")
        amount = f" ({usd(total)})" if total else ""
        return f"{label} {facts.get('number', '')} to {facts.get('customer', '')}{amount}"
    if event.action.startswith("billing.invoice."):
        return f"{label} {event.target_name.split(' to ')[0]}"
    return label
