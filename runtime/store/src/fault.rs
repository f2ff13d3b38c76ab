//! Fault injection for crash tests: the [`FAULT_ENV`] variable names a point of a commit (or of
//! the write-behind of a committed height) where the process aborts.

use tracing::warn;

use crate::store::TRACING_TARGET;
use crate::StoreError;

/// Environment variable naming a fault to inject into [`crate::Store::commit`] (tests only; read once
/// by [`crate::Store::open`]).
///
/// Values: `abort_before_write` (abort just before the height's commit record is written),
/// `abort_after_write` (abort right after it is durably written, before `commit` returns),
/// `abort_before_persist` (abort in the persister thread just before the height's tree nodes,
/// values and flat state are written out; see `persist`), each
/// optionally followed by `@<height>` to fire only when committing that height (otherwise the
/// first commit fires). The process dies with `std::process::abort()`.
pub const FAULT_ENV: &str = "NEXUS_STORE_FAULT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultPoint {
    BeforeWrite,
    AfterWrite,
    BeforePersist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    point: FaultPoint,
    height: Option<u64>,
}

impl Fault {
    fn parse(spec: &str) -> Result<Option<Fault>, StoreError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Ok(None);
        }
        let (name, height) = match spec.split_once('@') {
            Some((name, h)) => {
                let h = h
                    .parse::<u64>()
                    .map_err(|_| StoreError::Config(format!("bad height in {FAULT_ENV}={spec}")))?;
                (name, Some(h))
            }
            None => (spec, None),
        };
        let point = match name {
            "abort_before_write" => FaultPoint::BeforeWrite,
            "abort_after_write" => FaultPoint::AfterWrite,
            "abort_before_persist" => FaultPoint::BeforePersist,
            _ => return Err(StoreError::Config(format!("unknown {FAULT_ENV}={spec}"))),
        };
        Ok(Some(Fault { point, height }))
    }

    pub(crate) fn from_env() -> Result<Option<Fault>, StoreError> {
        match std::env::var(FAULT_ENV) {
            Ok(spec) => Fault::parse(&spec),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(StoreError::Config(format!("{FAULT_ENV} is not UTF-8")))
            }
        }
    }

    pub(crate) fn fire(fault: Option<Fault>, point: FaultPoint, height: u64) {
        if let Some(f) = fault {
            if f.point == point && f.height.is_none_or(|h| h == height) {
                warn!(target: TRACING_TARGET, ?point, height, "injected fault: aborting");
                std::process::abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_spec_parses_points_and_heights() {
        assert_eq!(Fault::parse("").unwrap(), None);
        assert_eq!(
            Fault::parse("abort_before_write").unwrap(),
            Some(Fault {
                point: FaultPoint::BeforeWrite,
                height: None
            })
        );
        assert_eq!(
            Fault::parse("abort_after_write@7").unwrap(),
            Some(Fault {
                point: FaultPoint::AfterWrite,
                height: Some(7)
            })
        );
        assert_eq!(
            Fault::parse("abort_before_persist@3").unwrap(),
            Some(Fault {
                point: FaultPoint::BeforePersist,
                height: Some(3)
            })
        );
        assert!(Fault::parse("abort_sometime").is_err());
        assert!(Fault::parse("abort_after_write@x").is_err());
    }
}
