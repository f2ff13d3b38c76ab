//! The Nexus ABCI++ application (placeholder; being built).
