"""Prices, payments, refunds, e-invoices and reconciliation."""
