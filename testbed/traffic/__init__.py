"""Traffic: steps of a lab file -> packets planned per node -> players that send them."""
