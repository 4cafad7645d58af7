"""Payment providers: what they promise (`interfaces`), the Alipay adapter speaking
Alipay's OpenAPI wire format (`alipay`), and the sandbox provider with its own ledger
(`sandbox`), the default."""
