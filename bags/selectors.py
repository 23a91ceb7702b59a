"""Reads about bags, already scoped to the caller (dispatchers see their own area)."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from bags.codes import normalize_code
from bags.models import Bag
from tracetrack.errors import NotFound

# What a bag's representation reads: its area, creator, parent (and the parent's bill, for
# a child) and its own bill (for a parent).
BAG_RELATED = ("dispatch_area", "created_by", "parent_link__parent__bill_link__bill", "bill_link__bill")


def bag_with_relations(bag: Bag) -> Bag:
    """A bag the caller has just changed, reloaded with what its representation reads."""
    return Bag.objects.select_related(*BAG_RELATED).get(pk=bag.pk)


def bags_visible_to(user: User) -> QuerySet[Bag]:
    """Bags `user` may read, with what a representation needs joined in."""
    queryset = Bag.objects.select_related(*BAG_RELATED)
    if user.is_dispatcher:
        queryset = queryset.filter(dispatch_area_id=user.dispatch_area_id)
    return queryset


def bag_get(*, user: User, qr_id: str) -> Bag:
    """One bag by code, case-insensitive; another area's bag is a 404 for a dispatcher."""
    code = normalize_code(qr_id)
    bag = bags_visible_to(user).filter(qr_id=code).first()
    if bag is None:
        raise NotFound(detail=_("No bag %(code)s.") % {"code": code})
    return bag


def child_codes(parent: Bag) -> list[str]:
    """A parent's children, in the order they were linked."""
    return list(
        Bag.objects.filter(parent_link__parent=parent)
        .order_by("parent_link__created_at", "parent_link__pk")
        .values_list("qr_id", flat=True)
    )
