"""Catalog entries: products and editions, maintenance plans, SKUs."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from entitle_events.common import LicenseKind
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .support import SupportConfig

Code = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._-]+$")]
Platform = Literal["windows", "macos", "linux"]
SkuKind = Literal["license", "maintenance", "upgrade", "incident_pack", "support_plan"]
RenewalBasis = Literal["previous_end", "purchase_date", "previous_end_if_covered"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Edition(_Entry):
    code: Code
    name: str
    platforms: list[Platform] = ["windows"]


class Brand(_Entry):
    """How customer emails look for a product (or, as the catalog default, for all)."""

    vendor: str = "Entitle"
    color: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = None
    support_url: str | None = None


class Product(_Entry):
    code: Code
    name: str
    editions: list[Edition]
    brand: Brand | None = Field(default=None, description="Overrides the catalog's brand.")
    current_major: int = Field(default=1, ge=0, description="Major version sold today.")
    base_product: Code | None = Field(default=None, description="Set on an add-on product.")
    support_months_after_next_major: int = Field(default=18, ge=0)

    def edition(self, code: str) -> Edition | None:
        return next((e for e in self.editions if e.code == code), None)

    def sold_major(self, requested: int | None) -> int | None:
        """The major an order line licenses (or upgrades to): the one it names, else the
        current one; None when it names a major beyond `current_major`, not sold yet."""
        if requested is None:
            return self.current_major
        return requested if requested <= self.current_major else None


class MaintenancePlan(_Entry):
    """Every parameter of a maintenance plan. The rules using them live in services.policy."""

    code: Code
    name: str
    term_months: int = Field(
        default=12,
        ge=1,
        description="Months one renewal or maintenance code buys (a SKU may differ).",
    )
    included_months: int = Field(default=0, ge=0, description="Paid cover with a new license.")
    complimentary_months: int = Field(default=0, ge=0, description="Free cover, first.")
    renewal_basis: RenewalBasis = Field(
        default="previous_end",
        description=(
            "previous_end: a renewal continues from the last cover's end, even a lapsed one;"
            " purchase_date: it runs `term` months from the day it is bought;"
            " previous_end_if_covered: from the end while still covered, else from the purchase."
        ),
    )
    renewal_window_months: int | None = Field(
        default=None,
        ge=0,
        description=(
            "After complimentary cover ends, months in which renewal is still accepted"
            " (null: no limit). Also bounds a lapsed paid cover when"
            " lapsed_paid_renewal_allowed is false."
        ),
    )
    lapsed_paid_renewal_allowed: bool = Field(
        default=True, description="A lapsed paid cover may be renewed at any later time."
    )
    early_renewal_discount_pct: Decimal = Field(
        default=Decimal(0), ge=0, le=100, description="Off the list price while still covered."
    )
    min_major_version: int = Field(
        default=0, ge=0, description="Licenses of an older major must upgrade before renewing."
    )
    free_updates_within_major: bool = Field(
        default=True,
        description="Releases of the licensed major are free; false: only those out at purchase"
        " or released during coverage.",
    )
    upgrade_grace_days: int = Field(
        default=0, ge=0, description="A new major released this many days after purchase is free."
    )
    upgrade_included_months: int = Field(
        default=0, ge=0, description="Cover a full-price major upgrade comes with (seed 000: 12)."
    )
    perpetual_while_active: bool = Field(
        default=False, description="Covered while the (MSP/subscription) license is active."
    )
    notice_days: int = Field(
        default=30, ge=0, description="Renewal notice lead time in days (see notice_months)."
    )
    notice_months: int | None = Field(
        default=None,
        ge=0,
        description="Renewal notice lead time in calendar months (seed 002: one month before"
        " expiry); replaces notice_days when set.",
    )

    def covers_new_license(self, major_version: int) -> bool:
        """Whether a license of `major_version` sold with this plan starts with coverage.

        Dated cover (complimentary, included) is sold for `min_major_version` and later only
        (seed 000: v3/v4 users "can only purchase BackupCare by first upgrading").
        """
        if self.perpetual_while_active:
            return True
        dated = bool(self.complimentary_months or self.included_months)
        return dated and major_version >= self.min_major_version

    @model_validator(mode="after")
    def _consistent(self) -> MaintenancePlan:
        if self.perpetual_while_active and (self.complimentary_months or self.included_months):
            raise ValueError(
                f"plan {self.code}: a perpetual_while_active plan has no dated initial cover"
                " (complimentary_months and included_months must be 0)"
            )
        if self.notice_months is not None and "notice_days" in self.model_fields_set:
            raise ValueError(f"plan {self.code}: give notice_months or notice_days, not both")
        if self.early_renewal_discount_pct != self.early_renewal_discount_pct.quantize(
            Decimal("0.01")
        ):
            raise ValueError(
                f"plan {self.code}: early_renewal_discount_pct has at most two decimals"
            )
        return self


class Sku(_Entry):
    code: Code
    kind: SkuKind
    product: Code
    edition: Code | None = None
    license_kind: LicenseKind | None = None
    seats: int | None = Field(default=1, ge=1, description="Activations per license; null: site.")
    one_license_per_unit: bool = Field(
        default=True, description="Quantity N issues N licenses; false: one license, N seats."
    )
    term_months: int | None = Field(
        default=None,
        ge=1,
        description="Subscription/trial term; on a maintenance SKU the months it buys"
        " (null: its plan's term).",
    )
    plan: Code | None = Field(default=None, description="Maintenance plan this SKU starts.")
    list_price: Decimal = Field(default=Decimal(0), ge=0)
    incidents: int = Field(default=0, ge=0, description="Incident credits of an incident pack.")

    @model_validator(mode="after")
    def _maintenance_needs_plan(self) -> Sku:
        if self.kind == "maintenance" and self.plan is None:
            raise ValueError(f"sku {self.code}: a maintenance SKU needs a plan")
        return self


class Catalog(_Entry):
    name: str = "catalog"
    currency: str = "EUR"
    brand: Brand = Brand()
    products: list[Product]
    plans: list[MaintenancePlan] = []
    skus: list[Sku]
    support: SupportConfig = SupportConfig()

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        products = {p.code: p for p in self.products}
        plans = {p.code for p in self.plans}
        for add_on in self.products:
            base = products.get(add_on.base_product) if add_on.base_product else None
            if add_on.base_product is not None and (base is None or base.base_product):
                raise ValueError(
                    f"product {add_on.code}: base_product {add_on.base_product} must be a"
                    " product of the catalog that is not an add-on itself"
                )
        for sku in self.skus:
            product = products.get(sku.product)
            if product is None:
                raise ValueError(f"sku {sku.code}: unknown product {sku.product}")
            if sku.edition is not None and product.edition(sku.edition) is None:
                raise ValueError(f"sku {sku.code}: product {sku.product} has no {sku.edition}")
            if sku.plan is not None and sku.plan not in plans:
                raise ValueError(f"sku {sku.code}: unknown plan {sku.plan}")
            if sku.kind == "license" and (sku.edition is None or sku.license_kind is None):
                raise ValueError(f"sku {sku.code}: a license SKU needs edition and license_kind")
        return self

    def release_product(self, code: str) -> str:
        """The product whose releases date `code`'s versions: an add-on's base product (seed
        000: add-ons "are upgraded for free whenever you upgrade" the base), else itself."""
        product = self.product(code)
        return product.base_product if product and product.base_product else code

    def sku(self, code: str) -> Sku | None:
        return next((s for s in self.skus if s.code == code), None)

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)

    def brand_of(self, product_code: str | None) -> Brand:
        product = self.product(product_code) if product_code else None
        return product.brand if product and product.brand else self.brand

    def plan(self, code: str) -> MaintenancePlan | None:
        return next((p for p in self.plans if p.code == code), None)
