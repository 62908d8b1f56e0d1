"""The product catalog: configuration the vendor edits.

Every service reads the same file; no policy lives in code.
"""

from .loader import DEMO_CATALOG, load_catalog
from .model import Brand, Catalog, Edition, MaintenancePlan, Product, Sku, SkuKind
from .support import SupportConfig

__all__ = [
    "DEMO_CATALOG",
    "Brand",
    "Catalog",
    "Edition",
    "MaintenancePlan",
    "Product",
    "Sku",
    "SkuKind",
    "SupportConfig",
    "load_catalog",
]
