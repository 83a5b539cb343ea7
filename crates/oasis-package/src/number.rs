//! Number and attribute parsing for package XML: decimal and `0x` hex, the trailing `.` that marks
//! decimal, and `NUM_DISK_SECTORS-N.`-style expressions kept verbatim for the device.

use std::path::Path;

use crate::error::{NumberProblem, PackageError};
use crate::xml::Element;

/// Parse a decimal or `0x` hex unsigned number; a single trailing `.` (decimal marker) is allowed.
pub fn parse_u64(value: &str) -> Result<u64, NumberProblem> {
    let v = value.trim();
    if v.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if v.starts_with('-') {
        return Err(NumberProblem::Negative);
    }
    let v = v.strip_prefix('+').unwrap_or(v);
    let (digits, radix) = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (v.strip_suffix('.').unwrap_or(v), 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumberProblem::NotANumber);
    }
    u64::from_str_radix(digits, radix).map_err(|_| NumberProblem::TooLarge { max: u64::MAX })
}

/// A sector address as written: a number, or an expression the device evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectorRef {
    /// A plain number.
    Number(u64),
    /// An expression such as `NUM_DISK_SECTORS-5.`, kept verbatim.
    Expr(String),
}

/// Whether `value` looks like a device-side expression (`NUM_DISK_SECTORS-33.`,
/// `NUM_DISK_BLOCKS-1458.`, `(4096*NUM_DISK_SECTORS)-20480.`, `CRC32(...)`).
pub fn is_expression(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty()
        && v.len() <= 128
        && v.chars().any(|c| c.is_ascii_alphabetic())
        && v.contains("NUM_DISK_")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_ .+-*/(),".contains(c))
}

/// Attribute access on one element with errors that name file, line, element and attribute.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    /// The file the element came from.
    pub file: &'a Path,
    /// The element.
    pub el: &'a Element,
}

impl<'a> Attrs<'a> {
    /// Wrap an element of `file`.
    pub fn new(file: &'a Path, el: &'a Element) -> Self {
        Attrs { file, el }
    }

    /// A present attribute's raw value.
    pub fn get(&self, attr: &str) -> Option<&'a str> {
        self.el.attr(attr)
    }

    /// A required attribute.
    pub fn required(&self, attr: &'static str) -> Result<&'a str, PackageError> {
        self.get(attr)
            .ok_or_else(|| PackageError::MissingAttribute {
                file: self.file.to_path_buf(),
                line: self.el.line,
                element: self.el.name.clone(),
                attribute: attr,
            })
    }

    /// The error for a bad number in `attr`.
    pub fn bad_number(&self, attr: &str, value: &str, problem: NumberProblem) -> PackageError {
        PackageError::BadNumber {
            file: self.file.to_path_buf(),
            line: self.el.line,
            element: self.el.name.as_str().into(),
            attribute: attr.to_string(),
            value: value.to_string(),
            problem,
        }
    }

    /// An optional number no larger than `max`.
    pub fn opt_u64(&self, attr: &'static str, max: u64) -> Result<Option<u64>, PackageError> {
        let Some(value) = self.get(attr) else {
            return Ok(None);
        };
        match parse_u64(value) {
            Ok(n) if n <= max => Ok(Some(n)),
            Ok(_) => Err(self.bad_number(attr, value, NumberProblem::TooLarge { max })),
            Err(p) => Err(self.bad_number(attr, value, p)),
        }
    }

    /// A required number no larger than `max`.
    pub fn req_u64(&self, attr: &'static str, max: u64) -> Result<u64, PackageError> {
        self.required(attr)?;
        self.opt_u64(attr, max)?
            .ok_or_else(|| self.bad_number(attr, "", NumberProblem::Empty))
    }

    /// `SECTOR_SIZE_IN_BYTES`: required, a power of two from 512 to 65536.
    pub fn sector_size(&self) -> Result<u32, PackageError> {
        const ATTR: &str = "SECTOR_SIZE_IN_BYTES";
        let n = self.req_u64(ATTR, 65536)?;
        if n < 512 || !n.is_power_of_two() {
            let value = self.get(ATTR).unwrap_or_default();
            return Err(self.bad_number(
                ATTR,
                value,
                NumberProblem::NotAllowed {
                    expected: "a power of two from 512 to 65536",
                },
            ));
        }
        Ok(u32::try_from(n).unwrap_or(512))
    }

    /// A sector address: a number that, times `sector_size`, fits in 64 bits, or an expression.
    pub fn sector_ref(
        &self,
        attr: &'static str,
        sector_size: u32,
    ) -> Result<Option<SectorRef>, PackageError> {
        let Some(value) = self.get(attr) else {
            return Ok(None);
        };
        match parse_u64(value) {
            Ok(n) => {
                let max = u64::MAX / u64::from(sector_size.max(1));
                if n > max {
                    return Err(self.bad_number(attr, value, NumberProblem::TooLarge { max }));
                }
                Ok(Some(SectorRef::Number(n)))
            }
            Err(NumberProblem::NotANumber) if is_expression(value) => {
                Ok(Some(SectorRef::Expr(value.trim().to_string())))
            }
            Err(p) => Err(self.bad_number(attr, value, p)),
        }
    }

    /// An optional boolean (`true`/`false`, `1`/`0`, any case).
    pub fn opt_bool(&self, attr: &'static str) -> Result<Option<bool>, PackageError> {
        let Some(value) = self.get(attr) else {
            return Ok(None);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" | "" => Ok(Some(false)),
            _ => Err(PackageError::BadValue {
                file: self.file.to_path_buf(),
                line: self.el.line,
                element: self.el.name.clone(),
                attribute: attr.to_string(),
                value: value.to_string(),
                expected: "true or false",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("640"), Ok(640));
        assert_eq!(parse_u64(" 0x1F "), Ok(31));
        assert_eq!(parse_u64("33."), Ok(33));
        assert_eq!(parse_u64("-1"), Err(NumberProblem::Negative));
        assert_eq!(parse_u64(""), Err(NumberProblem::Empty));
        assert_eq!(parse_u64("1e3"), Err(NumberProblem::NotANumber));
        assert_eq!(parse_u64("0x"), Err(NumberProblem::NotANumber));
        assert_eq!(parse_u64("8192.0"), Err(NumberProblem::NotANumber));
        assert_eq!(
            parse_u64("99999999999999999999999"),
            Err(NumberProblem::TooLarge { max: u64::MAX })
        );
    }

    #[test]
    fn expressions() {
        assert!(is_expression("NUM_DISK_SECTORS-5."));
        assert!(is_expression("NUM_DISK_SECTORS-1"));
        assert!(is_expression("NUM_DISK_BLOCKS-1458."));
        assert!(is_expression("(4096*NUM_DISK_SECTORS)-20480."));
        assert!(!is_expression("abc"));
        assert!(!is_expression("NUM_DISK_SECTORS;rm -rf"));
    }

    #[test]
    fn attrs_errors_name_things() {
        let el = Element {
            name: "program".into(),
            attrs: vec![
                ("SECTOR_SIZE_IN_BYTES".into(), "1000".into()),
                ("start_sector".into(), "-5".into()),
                ("num_partition_sectors".into(), "0x10".into()),
                ("sparse".into(), "maybe".into()),
            ],
            children: vec![],
            text: String::new(),
            line: 9,
        };
        let a = Attrs::new(Path::new("r.xml"), &el);
        assert!(matches!(
            a.sector_size(),
            Err(PackageError::BadNumber {
                line: 9,
                problem: NumberProblem::NotAllowed { .. },
                ..
            })
        ));
        assert!(matches!(
            a.sector_ref("start_sector", 512),
            Err(PackageError::BadNumber {
                problem: NumberProblem::Negative,
                ..
            })
        ));
        assert_eq!(a.req_u64("num_partition_sectors", 100).unwrap(), 16);
        assert!(matches!(
            a.req_u64("num_partition_sectors", 10),
            Err(PackageError::BadNumber {
                problem: NumberProblem::TooLarge { max: 10 },
                ..
            })
        ));
        assert!(matches!(
            a.required("filename"),
            Err(PackageError::MissingAttribute {
                attribute: "filename",
                line: 9,
                ..
            })
        ));
        assert!(matches!(
            a.opt_bool("sparse"),
            Err(PackageError::BadValue { .. })
        ));
    }
}
