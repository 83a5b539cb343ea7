//! Device side of [`Command`]: turn an element a host sent back into a typed command
//! (attribute names matched case-insensitively, numbers decimal or `0x` hex).

use super::command::{Command, Configure, Patch, PowerAction, Region, VendorCommand};
use super::error::FirehoseError;
use super::xml::{Element, parse_number};

struct Attrs<'a> {
    el: &'a Element,
    used: Vec<&'static str>,
}

impl<'a> Attrs<'a> {
    fn new(el: &'a Element) -> Self {
        Self {
            el,
            used: Vec::new(),
        }
    }

    fn opt_str(&mut self, name: &'static str) -> Option<String> {
        self.used.push(name);
        self.el.attr(name).map(str::to_string)
    }

    fn str(&mut self, name: &'static str) -> Result<String, FirehoseError> {
        self.opt_str(name)
            .ok_or_else(|| FirehoseError::MissingAttribute {
                element: self.el.tag.clone(),
                attribute: name,
            })
    }

    fn opt_num(&mut self, name: &'static str) -> Result<Option<u64>, FirehoseError> {
        match self.opt_str(name) {
            None => Ok(None),
            Some(v) => parse_number(&v)
                .map(Some)
                .ok_or_else(|| FirehoseError::BadNumber {
                    element: self.el.tag.clone(),
                    attribute: name.to_string(),
                    value: v,
                }),
        }
    }

    fn num(&mut self, name: &'static str) -> Result<u64, FirehoseError> {
        self.opt_num(name)?
            .ok_or_else(|| FirehoseError::MissingAttribute {
                element: self.el.tag.clone(),
                attribute: name,
            })
    }

    fn num32(&mut self, name: &'static str) -> Result<u32, FirehoseError> {
        let v = self.num(name)?;
        self.fit(name, v)
    }

    fn opt_num32(&mut self, name: &'static str) -> Result<Option<u32>, FirehoseError> {
        match self.opt_num(name)? {
            None => Ok(None),
            Some(v) => self.fit(name, v).map(Some),
        }
    }

    fn fit(&self, name: &'static str, v: u64) -> Result<u32, FirehoseError> {
        u32::try_from(v).map_err(|_| FirehoseError::BadNumber {
            element: self.el.tag.clone(),
            attribute: name.to_string(),
            value: v.to_string(),
        })
    }

    fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, FirehoseError> {
        match self.opt_str(name) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(FirehoseError::BadValue {
                    element: self.el.tag.clone(),
                    attribute: name.to_string(),
                    value: v,
                    why: "expected 0 or 1",
                }),
            },
        }
    }

    fn region(&mut self) -> Result<Region, FirehoseError> {
        Ok(Region {
            sector_size: self.num32("SECTOR_SIZE_IN_BYTES")?,
            num_sectors: self.num("num_partition_sectors")?,
            physical_partition: self.opt_num32("physical_partition_number")?.unwrap_or(0),
            start_sector: self.str("start_sector")?,
        })
    }

    /// Attributes not consumed so far, in document order.
    fn extra(&self) -> Vec<(String, String)> {
        self.el
            .attrs
            .iter()
            .filter(|(k, _)| !self.used.iter().any(|u| u.eq_ignore_ascii_case(k)))
            .cloned()
            .collect()
    }
}

fn configure(a: &mut Attrs<'_>) -> Result<Command, FirehoseError> {
    let memory_name = a.str("MemoryName")?;
    let max_payload_to_target = a.num("MaxPayloadSizeToTargetInBytes")?;
    let zlp_aware_host = a.flag("ZlpAwareHost", true)?;
    let skip_storage_init = a.flag("SkipStorageInit", false)?;
    let verbose = a.flag("Verbose", false)?;
    let always_validate = a.flag("AlwaysValidate", false)?;
    let max_digest_table_size = a.opt_num("MaxDigestTableSizeInBytes")?;
    Ok(Command::Configure(Configure {
        memory_name,
        max_payload_to_target,
        zlp_aware_host,
        skip_storage_init,
        verbose,
        always_validate,
        max_digest_table_size,
        extra: a.extra(),
    }))
}

fn patch(a: &mut Attrs<'_>) -> Result<Command, FirehoseError> {
    Ok(Command::Patch(Patch {
        sector_size: a.num32("SECTOR_SIZE_IN_BYTES")?,
        byte_offset: a.num("byte_offset")?,
        filename: a.str("filename")?,
        physical_partition: a.opt_num32("physical_partition_number")?.unwrap_or(0),
        size_in_bytes: a.num32("size_in_bytes")?,
        start_sector: a.str("start_sector")?,
        value: a.str("value")?,
        what: a.opt_str("what"),
    }))
}

fn power(a: &mut Attrs<'_>) -> Result<Command, FirehoseError> {
    let value = a.str("value")?;
    let action = match value.trim().to_ascii_lowercase().as_str() {
        "reset" => PowerAction::Reset,
        "off" => PowerAction::Off,
        "reset_to_edl" => PowerAction::ResetToEdl,
        _ => {
            return Err(FirehoseError::BadValue {
                element: "power".into(),
                attribute: "value".into(),
                value,
                why: "expected reset, off or reset_to_edl",
            });
        }
    };
    Ok(Command::Power {
        action,
        delay_seconds: a.opt_num32("DelayInSeconds")?,
    })
}

impl Command {
    /// Parse an element a host sent. Known tags become typed commands (missing or bad
    /// attributes are errors naming them); other tags become [`Command::Vendor`];
    /// `benchmark` is [`FirehoseError::Forbidden`].
    pub fn from_element(el: &Element) -> Result<Command, FirehoseError> {
        let mut a = Attrs::new(el);
        let tag = el.tag.to_ascii_lowercase();
        match tag.as_str() {
            "configure" => configure(&mut a),
            "program" | "read" => {
                let region = a.region()?;
                let extra = a.extra();
                Ok(if tag == "program" {
                    Command::Program { region, extra }
                } else {
                    Command::Read { region, extra }
                })
            }
            "erase" => Ok(Command::Erase {
                sector_size: a.num32("SECTOR_SIZE_IN_BYTES")?,
                num_sectors: a.opt_num("num_partition_sectors")?,
                physical_partition: a.opt_num32("physical_partition_number")?.unwrap_or(0),
                start_sector: a.opt_str("start_sector"),
                extra: a.extra(),
            }),
            "patch" => patch(&mut a),
            "getsha256digest" => Ok(Command::GetSha256Digest {
                region: a.region()?,
            }),
            "getstorageinfo" => Ok(Command::GetStorageInfo {
                physical_partition: a.opt_num32("physical_partition_number")?.unwrap_or(0),
            }),
            "nop" => Ok(Command::Nop),
            "power" => power(&mut a),
            "setbootablestoragedrive" => Ok(Command::SetBootableStorageDrive {
                value: a.num32("value")?,
            }),
            _ => Ok(Command::Vendor(VendorCommand::new(
                el.tag.clone(),
                el.attrs.clone(),
            )?)),
        }
    }
}
