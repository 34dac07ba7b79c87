"""Drives the Glase sandbox with Python's zeep, a SOAP toolkit that builds its client from the WSDL.

Usage: check_sandbox.py http://127.0.0.1:PORT

The client is built from http://127.0.0.1:PORT/extclientproxy/service/v2?wsdl and used unchanged. The
script also validates the request bodies zeep emits, and the sandbox's answers, against the schema of the
WSDL the sandbox served (with lxml), so the WSDL, the client and the server agree with each other; and
it validates the protocol crate's golden request and response envelopes (what our Rust encoder writes)
against that schema too.
Exits non-zero on the first failed check and prints "zeep: N passed, 0 failed" when all pass.
"""

import copy
import json
import pathlib
import sys
import urllib.request
from decimal import Decimal

from lxml import etree
from zeep import Client, Settings

SOAP_PATH = "/extclientproxy/service/v2"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XS = "http://www.w3.org/2001/XMLSchema"

checks = 0


def check(condition, message):
    global checks
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        print(f"zeep: {checks} passed, 1 failed")
        sys.exit(1)
    checks += 1


def http(method, url, body=None, content_type=None):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def served_schema(wsdl_url):
    """The XML Schema inside the WSDL the sandbox serves."""
    _, text = http("GET", wsdl_url)
    wsdl = etree.fromstring(text)
    schema = wsdl.find(f".//{{{XS}}}schema")
    return etree.XMLSchema(copy.deepcopy(schema))


def body_child(envelope):
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    return copy.deepcopy(body[0])


def main():
    base_url = sys.argv[1].rstrip("/")
    endpoint = base_url + SOAP_PATH
    wsdl_url = endpoint + "?wsdl"
    schema = served_schema(wsdl_url)

    client = Client(wsdl_url, settings=Settings(strict=True))
    service = client.service
    check(service._binding_options["address"] == endpoint, "soap:address is the sandbox's own endpoint")

    _, accounts = http("GET", base_url + "/sandbox/accounts")
    accounts = json.loads(accounts)
    terminal = accounts["terminals"][0]
    reseller = accounts["reseller"]
    context = {
        "channel": "WS",
        "clientId": "zeep check",
        "clientRequestTimeout": 0,
        "initiatorPrincipalId": {"id": terminal["terminal_id"], "type": "TERMINALID"},
        "password": terminal["password"],
    }
    invoice = {
        "paymentMode": "IMMEDIATE_DEBIT",
        "acknowledgmentMode": "NO_ACKNOWLEDGMENT",
        "title": "Zeep order",
        "clientInvoiceId": "zeep-1",
        "invoiceRows": {
            "invoiceRow": [
                {
                    "itemDescription": "Laptop",
                    "itemQuantity": Decimal("2"),
                    "itemTaxRate": Decimal("24"),
                    "itemTotalAmount": {"currency": "SEK", "value": Decimal("500.00")},
                    "itemUnitPrice": {"currency": "SEK", "value": Decimal("250.00")},
                },
                {
                    "itemDescription": "Discount",
                    "itemTotalAmount": {"currency": "SEK", "value": Decimal("-25.50")},
                },
            ]
        },
        "totalAmount": {"currency": "SEK", "value": Decimal("474.50")},
        "cashierId": "Bob",
        "backURL": "https://shop.example/done",
    }

    # The request zeep builds is valid against the served schema, and so is the sandbox's answer.
    envelope = client.create_message(service, "sendInvoice", context=context, invoice=invoice)
    schema.assertValid(etree.ElementTree(body_child(envelope)))
    check(True, "zeep's sendInvoice request body is valid against the served schema")
    status, answer = http("POST", endpoint, etree.tostring(envelope), "text/xml; charset=utf-8")
    check(status == 200, "raw sendInvoice answered HTTP 200")
    schema.assertValid(etree.ElementTree(body_child(etree.fromstring(answer))))
    check(True, "the sandbox's sendInvoiceResponse is valid against the served schema")

    sent = service.sendInvoice(context=context, invoice=invoice)
    check(sent.resultCode == 0, f"sendInvoice resultCode 0, got {sent.resultCode}")
    check(sent.resultDescription == "SUCCESS", "sendInvoice resultDescription SUCCESS")
    reference = sent.invoiceReference
    check(len(reference) == 17 and reference.isdigit(), "invoiceReference has 17 digits")
    check(sent.invoiceQRCode == "HTTP://SEQR.SE/R" + reference, "invoiceQRCode carries the reference")

    status = service.getPaymentStatus(context=context, invoiceReference=reference, invoiceVersion=0)
    check(status.resultCode == 0, "getPaymentStatus resultCode 0")
    check(status.status == "ISSUED", f"status ISSUED, got {status.status}")

    # The shopper pays through the controls; zeep then reads the full PAID answer with its receipt.
    http("POST", f"{base_url}/sandbox/invoices/{reference}/pay")
    envelope = client.create_message(
        service, "getPaymentStatus", context=context, invoiceReference=reference, invoiceVersion=0
    )
    schema.assertValid(etree.ElementTree(body_child(envelope)))
    status = service.getPaymentStatus(context=context, invoiceReference=reference, invoiceVersion=1)
    check(status.status == "PAID", f"status PAID, got {status.status}")
    check(len(status.ersReference) == 25, "a PAID answer carries the 25-digit ersReference")
    check(status.receipt.paymentReference == status.ersReference, "receipt.paymentReference = ersReference")
    check(status.receipt.invoice.totalAmount.value == Decimal("474.50"), "receipt.invoice keeps the total")
    check(status.version == 1, "version 1 after the payment")
    _, answer = http(
        "POST",
        endpoint,
        etree.tostring(
            client.create_message(
                service, "getPaymentStatus", context=context, invoiceReference=reference, invoiceVersion=1
            )
        ),
        "text/xml; charset=utf-8",
    )
    schema.assertValid(etree.ElementTree(body_child(etree.fromstring(answer))))
    check(True, "the PAID getPaymentStatusResponse is valid against the served schema")

    refund = service.refundPayment(
        context=context,
        ersReference=status.ersReference,
        invoice={"title": "Refund", "totalAmount": {"currency": "SEK", "value": Decimal("100.00")}},
    )
    check(refund.resultCode == 0 and len(refund.ersReference) == 25, "refundPayment gives its own reference")

    reseller_context = {
        "clientRequestTimeout": 0,
        "initiatorPrincipalId": {"id": reseller["id"], "type": "RESELLERUSER", "userId": reseller["user_id"]},
        "password": reseller["password"],
    }
    registered = service.registerTerminal(
        context=reseller_context, externalTerminalId="Till 1", password="till-pass", name="Till 1"
    )
    check(registered.resultCode == 0 and len(registered.terminalId) == 32, "registerTerminal gives a terminal id")
    period = service.markTransactionPeriod(context=reseller_context)
    check(period.resultCode == 0 and len(period.transactionPeriodId) == 25, "markTransactionPeriod gives an id")
    report = service.executeReport(
        context=reseller_context,
        reportId="Reconciliation/STD_RECON_003.xml",
        language="en",
        parameters={"parameter": {"entry": [{"key": "transactionPeriodId", "value": period.transactionPeriodId}]}},
    )
    check(report.resultCode == 2, f"executeReport right after the mark answers 2, got {report.resultCode}")

    wrong = dict(context, password="wrong")
    check(service.getPaymentStatus(context=wrong, invoiceReference=reference, invoiceVersion=0).resultCode == 20,
          "a wrong password answers 20")

    # The Rust client's envelopes (the protocol crate's golden files, written by its encoder) and its
    # encoded server answers are valid against the same served schema.
    golden = pathlib.Path(__file__).resolve().parents[2] / "shared/glase-protocol/tests/golden"
    files = sorted(f for d in ("requests", "responses") for f in (golden / d).glob("*.xml"))
    check(files, f"golden envelopes found under {golden}")
    for path in files:
        element = body_child(etree.parse(str(path)).getroot())
        if element.tag.endswith("}Fault"):
            continue
        valid = schema.validate(etree.ElementTree(element))
        check(valid, f"{path.name} is valid against the served schema: {schema.error_log.last_error}")

    print(f"zeep: {checks} passed, 0 failed")


if __name__ == "__main__":
    main()
