//! Mapping an opened `oasis_package::Package` (and its programmer identity) onto the plain
//! compatibility facts, so front-ends need not know either side's internals.

use oasis_package::programmer::{ProgrammerIdentity, ProgrammerKind as PkgKind};
use oasis_package::{Package, ProgrammerInfo, StorageType};

use super::{PackageFacts, ProgrammerFacts, ProgrammerKind, Storage};

/// The compat storage for a package storage type (`Unknown` → `None`).
pub fn storage_of(s: StorageType) -> Option<Storage> {
    match s {
        StorageType::Nand => Some(Storage::Nand),
        StorageType::Emmc => Some(Storage::Emmc),
        StorageType::Ufs => Some(Storage::Ufs),
        StorageType::Spinor => Some(Storage::Spinor),
        StorageType::Unknown => None,
    }
}

fn kind_of(id: Option<&ProgrammerIdentity>) -> ProgrammerKind {
    match id.map(|i| i.kind) {
        Some(PkgKind::Firehose) => ProgrammerKind::Firehose,
        Some(PkgKind::Nprg | PkgKind::Enprg) => ProgrammerKind::Streaming,
        _ => ProgrammerKind::Unknown,
    }
}

impl ProgrammerFacts {
    /// Facts from a package's programmer entry (identity read from its bytes, storage from its
    /// file name).
    pub(crate) fn from_info(info: &ProgrammerInfo) -> Self {
        let file = info
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let id = info.identity.as_ref();
        Self {
            kind: kind_of(id),
            hw_id: id.and_then(|i| i.hw_id.clone()),
            signed: id.map(|i| i.signed),
            root_sha256: id.and_then(|i| i.pk_hash_sha256.clone()),
            root_sha384: id.and_then(|i| i.pk_hash_sha384.clone()),
            storage: file
                .as_deref()
                .and_then(StorageType::from_file_name)
                .and_then(storage_of),
            file,
        }
    }
}

impl PackageFacts {
    /// Facts from an opened package: model and revision from its name, storage from its XML,
    /// and its programmer.
    pub fn from_package(pkg: &Package) -> Self {
        let name = pkg.name.as_ref();
        Self {
            model: name.map(|n| n.model.clone()),
            revision: name.map(|n| match &n.version {
                Some(v) => format!("{}_{v}", n.revision),
                None => n.revision.clone(),
            }),
            storage: storage_of(pkg.storage),
            programmer: pkg.programmer.as_ref().map(ProgrammerFacts::from_info),
        }
    }
}
