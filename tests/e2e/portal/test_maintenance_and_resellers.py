"""Associate a maintenance code (from its email's link), transfer as a reseller, and the
public key-status page."""

from __future__ import annotations

import re

from entitle_dev.stack import Stack

from .browser import Browser, link_in, wait_for_mail
from .shop import licenses_of, line, order, unique


def test_associate_a_code_from_its_email(browser: Browser, stack: Stack) -> None:
    account, email = unique("acct-"), f"{unique('admin')}@customer.example"
    order(stack, account, email, "Codes Ltd", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    order(stack, account, email, "Codes Ltd", [line("BP-CARE-12")])
    codes_mail = wait_for_mail(stack, email, "maintenance_codes")
    text = codes_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (code,) = re.findall(r"MC-[A-Z0-9-]+", text)

    browser.sign_in(email, next_path="/licenses")
    browser.open(link_in(codes_mail, "/maintenance/associate"))
    assert code in browser.driver.page_source
    browser.check("associate")
    browser.select("#maintenance_code", code)
    browser.select("#license_key", lic["key"])
    browser.submit_with("Associate code")
    # The license has its complimentary cover: the seed's warning comes first.
    assert "this code extends the same license" in browser.text
    browser.check("associate-warning")
    browser.submit_with("Extend this license")
    assert "The maintenance code was associated with this license." in browser.text
    assert "Maintenance code" in browser.text  # the new period's source
    browser.check("license-associated")
    browser.open("/maintenance/associate")
    assert "You have no maintenance code that is not yet associated" in browser.text


def test_a_reseller_picks_the_customer_before_associating_a_code(
    browser: Browser, stack: Stack
) -> None:
    reseller, reseller_email = unique("rs-"), f"{unique('care')}@reseller.example"
    customer = {
        "account_id": unique("acct-"),
        "company": "Gepflegt GmbH",
        "email": f"{unique('it')}@endcustomer.example",
    }
    order(stack, reseller, reseller_email, "Care & Co", [line("BP-SRV")], True, customer)
    (lic,) = licenses_of(stack, customer["account_id"], 1)
    order(stack, reseller, reseller_email, "Care & Co", [line("BP-CARE-12")], reseller=True)
    codes_mail = wait_for_mail(stack, reseller_email, "maintenance_codes")
    text = codes_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (code,) = re.findall(r"MC-[A-Z0-9-]+", text)

    browser.sign_in(reseller_email, next_path="/maintenance/associate")
    assert "Pick the customer first." in browser.text
    browser.select("#customer", customer["account_id"])
    browser.submit_with("Show this customer's licenses")
    browser.select("#maintenance_code", code)
    browser.select("#license_key", lic["key"])
    browser.submit_with("Associate code")
    assert "this code extends the same license" in browser.text
    browser.submit_with("Extend this license")
    assert "The maintenance code was associated with this license." in browser.text


def test_a_reseller_transfers_an_order_to_its_customer(browser: Browser, stack: Stack) -> None:
    reseller, reseller_email = unique("rs-"), f"{unique('sales')}@reseller.example"
    order_id = order(
        stack, reseller, reseller_email, "Resell & Co", [line("BP-SRV", 2)], reseller=True
    )
    licenses_of(stack, reseller, 2)
    customer_email = f"{unique('it')}@endcustomer.example"

    browser.sign_in(reseller_email, next_path="/transfer")
    assert "Transfer licenses" in browser.text and order_id in browser.text
    browser.check("transfer")
    browser.click(f"input[name=order_id][value='{order_id}']")
    browser.fill("#company", "Endkunde GmbH")
    browser.fill("#email", customer_email)
    browser.submit_with("Transfer license")
    assert "The licenses were transferred." in browser.text
    assert order_id not in browser.text
    browser.check("transfer-done")

    # The customer gets the licenses' email; its link opens the license once signed in.
    assigned = wait_for_mail(stack, customer_email, "license_assigned")
    browser.open("/licenses")
    browser.click("form[action='/sign-out'] button", navigates=True)
    browser.sign_in(customer_email, next_path="/licenses")
    assert "Endkunde GmbH" in browser.text
    browser.open(link_in(assigned, "/licenses/"))
    assert "Endkunde GmbH" in browser.text and "Backup Pro Server" in browser.text

    # A customer (not a reseller) has no transfer page.
    browser.open("/transfer")
    assert "RESELLERS_ONLY" in browser.text


def test_a_reseller_transfers_only_the_licenses_it_ticks(browser: Browser, stack: Stack) -> None:
    reseller, reseller_email = unique("rs-"), f"{unique('pick')}@reseller.example"
    order(stack, reseller, reseller_email, "Pick & Co", [line("BP-SRV", 3)], reseller=True)
    pooled = licenses_of(stack, reseller, 3)
    chosen, kept = pooled[0]["key"], [lic["key"] for lic in pooled[1:]]
    customer_email = f"{unique('one')}@endcustomer.example"

    browser.sign_in(reseller_email, next_path="/transfer")
    browser.click(f"input[name=license_key][value='{chosen}']")
    browser.fill("#company", "Einzelkunde AG")
    browser.fill("#email", customer_email)
    browser.submit_with("Transfer license")
    assert "The licenses were transferred." in browser.text
    assert chosen[:16] not in browser.text
    assert all(key[:16] in browser.text for key in kept)  # still in the pool to transfer
    assigned = wait_for_mail(stack, customer_email, "license_assigned")
    body = assigned.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert chosen in body and not any(key in body for key in kept)


def test_key_status_needs_no_sign_in_and_tells_nothing_else(browser: Browser, stack: Stack) -> None:
    account, email = unique("acct-"), f"{unique('it')}@customer.example"
    order(stack, account, email, "Keyholder SARL", [line("BP-SRV")])
    (lic,) = licenses_of(stack, account, 1)
    browser.open("/key-status")
    browser.check("key-status")
    browser.fill("#key", lic["key"])
    browser.submit_with("Check")
    text = browser.text
    assert "Backup Pro Server · Perpetual" in text
    assert "Covered until" in text and "Priority support" in text
    assert "Keyholder SARL" not in text and account not in text  # nothing about the account
    browser.check("key-status-result")
    browser.fill("#key", lic["key"][:-6] + "AAAAAA")
    browser.submit_with("Check")
    assert "LICENSE_NOT_FOUND" in browser.text
