"""The key programming station and CA signing over PKCS#11 (issue 7)."""
