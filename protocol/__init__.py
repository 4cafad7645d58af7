"""What the back office and its station agents share: the station protocol (protocol.station)."""
