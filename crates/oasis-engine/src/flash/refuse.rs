//! Refusals that need the board, made before anything is written to it: Oasis's demo package
//! never goes onto hardware, and a module running its firmware that names another model on
//! its AT port is not switched to download mode for this package. Every front-end gets them
//! from the flash itself (the CLI and the app alike).

use oasis_package::Package;

use crate::diag::at::AtProbe;
use crate::diag::compat::{self, BoardFacts, Level, PackageFacts};
use crate::error::EngineError;

/// The marker Oasis's demo programmer carries (`assets/demo-package`): its package is a
/// training aid, not firmware.
pub(crate) const DEMO_MARK: &[u8] = b"QC_IMAGE_VERSION_STRING=OASIS.DEMO";

/// Whether programmer bytes are Oasis's demo programmer.
pub(crate) fn is_demo_programmer(bytes: &[u8]) -> bool {
    bytes.windows(DEMO_MARK.len()).any(|w| w == DEMO_MARK)
}

/// Whether an opened package is Oasis's demo package (its programmer carries the marker).
pub fn is_demo_package(pkg: &Package) -> bool {
    pkg.programmer
        .as_ref()
        .and_then(|p| std::fs::read(&p.path).ok())
        .is_some_and(|b| is_demo_programmer(&b))
}

/// The demo package goes onto simulated boards only.
pub(crate) fn demo_on_hardware(demo: bool, simulated: bool) -> Result<(), EngineError> {
    if demo && !simulated {
        return Err(EngineError::Refused {
            reason: "this is Oasis's demo package, not firmware: it only goes onto virtual boards. Nothing was written".to_owned(),
            help: "open the firmware package made for this module".to_owned(),
        });
    }
    Ok(())
}

/// A module running its firmware whose AT port names another model than the package's is
/// left running: nothing is switched or written.
pub(crate) fn other_model(package: &PackageFacts, probe: &AtProbe) -> Result<(), EngineError> {
    if !probe.answered {
        return Ok(());
    }
    let facts = BoardFacts::from_evidence(Some(probe), None);
    let verdict = compat::check(package, &facts);
    match verdict
        .checks
        .iter()
        .find(|c| c.name == "model" && c.status == Level::Red)
    {
        Some(model) => Err(EngineError::Refused {
            reason: format!(
                "{}. Nothing was written: the board still runs its firmware",
                model.reason.trim_end_matches('.')
            ),
            help: "open the firmware package made for this module (its name starts with the module's revision)".to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_package_is_refused_on_hardware_only() {
        assert!(demo_on_hardware(true, true).is_ok());
        assert!(demo_on_hardware(false, false).is_ok());
        let e = demo_on_hardware(true, false).unwrap_err();
        assert!(e.to_string().contains("Nothing was written"), "{e}");
        let mut bytes = vec![0u8; 64];
        bytes.extend_from_slice(DEMO_MARK);
        assert!(is_demo_programmer(&bytes));
        assert!(!is_demo_programmer(b"QC_IMAGE_VERSION_STRING=MPSS.JO"));
    }

    #[test]
    fn a_module_of_another_model_is_left_running() {
        let package = PackageFacts {
            model: Some("BG95M3LA".into()),
            ..PackageFacts::default()
        };
        let mut probe = AtProbe::failed(
            "ttyUSB2",
            &oasis_transport::TransportError::new(
                oasis_transport::TransportErrorKind::Timeout,
                "read",
                "ttyUSB2",
            ),
        );
        // Silent: nothing to go by, nothing refused.
        assert!(other_model(&package, &probe).is_ok());
        probe.answered = true;
        probe.error = None;
        probe.model = Some("EG25".into());
        probe.full_revision = Some("EG25GGBR07A08M2G_01.002.01.002".into());
        let e = other_model(&package, &probe).unwrap_err();
        assert!(e.to_string().contains("Nothing was written"), "{e}");
        assert!(e.to_string().contains("EG25"), "{e}");
    }
}
