//! Threshold signatures of the Nexus validator set (placeholder; being built).
