"""The station agent: runs on the station PC where the USB keys are plugged in, long-polls the back
office for a job and programs the key (PINs, a key pair made on the key, its certificate and the
chain), reporting every step, or wipes a key sent back after its certificate was revoked. Run it
with `python -m agent` (agent.__main__).

It uses nothing of the project but `protocol`, the contract it shares with the back office:

- agent.tokens: the PKCS#11 operations on a key, found by its serial;
- agent.programming: one job run against a key, idempotent so a cut-off job can be run again;
- agent.wiping: a returned key wiped back to a blank one (the transport SO PIN, nothing on it);
- agent.backoffice: what the job run needs of the back office (its calls and their errors);
- agent.client: that back office over HTTP (urllib), step reports sent in order from a thread.

The key helper (`ukey-helper`, agent.helper) is the same token code on an applicant's own PC:
agent.renewing (the key login and the renewal), agent.unlocking.run_helper, agent.helper_client
(protocol.helper over HTTP); packaged alone by packaging/ukey-helper/pyproject.toml.
"""
