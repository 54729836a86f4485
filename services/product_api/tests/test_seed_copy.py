"""The demo catalog reads as a shop's copy would: no article before a plural kind ("a
dependable Earbuds"), and kind names keep their capitals ("NVMe SSD", not "nvme ssd")."""

from product_api.seed import CATALOG, demo_products


def test_demo_descriptions_name_each_kind_as_written_without_an_article():
    kinds = {kind for _, names, _ in CATALOG.values() for kind in names}
    for product in demo_products():
        description = product["description"]
        named = [kind for kind in kinds if f"dependable {kind} " in description]
        assert len(named) == 1, description
        assert f"a dependable {named[0]}" not in description
        assert f"an dependable {named[0]}" not in description
