//! The PBL's secure-boot decision for an uploaded programmer: a board with a fused root accepts
//! only images signed by that root and meant for its chip; an unfused board accepts any ELF.
//!
//! Run when the hash segment has arrived (a real PBL authenticates the hash table before it
//! loads the code segments), so a rejection comes right after the hash-segment reads.

use oasis_package::programmer::ProgrammerIdentity;

use crate::image::{ImageLoader, status};
use crate::profile::Profile;

/// `None` = accepted; `Some(status)` = the END_IMAGE_TX status a real board sends.
pub(crate) fn check(profile: &Profile, loader: &ImageLoader) -> Option<u32> {
    let root = profile.fused_root.as_deref()?;
    // The parser wants a whole file: give it what arrived, padded to the last segment end.
    let end = loader
        .phdrs
        .iter()
        .map(|p| p.offset.saturating_add(p.filesz))
        .max()
        .unwrap_or(0);
    let mut image = loader.image.clone();
    if let Ok(end) = usize::try_from(end)
        && image.len() < end
    {
        image.resize(end, 0);
    }
    let Ok(id) = ProgrammerIdentity::from_bytes(&image) else {
        return Some(status::HASH_TABLE_NOT_FOUND);
    };
    if !id.signed {
        return Some(status::HASH_TABLE_NOT_FOUND);
    }
    let wanted = hex::encode(root);
    if id.pk_hash_for_len(root.len()) != Some(wanted.as_str()) {
        return Some(status::HASH_TABLE_AUTH_FAILED);
    }
    match id.msm_id() {
        Some(msm) if msm != 0 && msm != profile.msm_id => Some(status::IMAGE_AUTH_FAILED),
        _ => None,
    }
}
