//! What a user names as a port (`/dev/ttyUSB0`, `COM7`, `usb`, `usb:1-1.4`, `usb:SERIAL`),
//! parsed into a [`PortSpec`] and opened into a [`Transport`]. Virtual boards are not a kind of
//! port: they live on the virtual bus (oasis-vdev), which gives `virtual:PROFILE` its meaning
//! (see [`crate::bus`]).
//!
//! Parsing is pure; only [`open`] touches the OS.

use std::fmt;

use crate::{Transport, TransportError, TransportErrorKind};

/// How a USB EDL device is selected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum UsbSelector {
    /// `usb`: the only EDL device attached (several are an error that lists them).
    Any,
    /// `usb:1-1.4`: bus number, dash, port chain (the Linux sysfs name of the socket).
    Path(String),
    /// `usb:0AB1C2D3`: the serial from iSerialNumber or the `_SN:` part of iProduct.
    Serial(String),
}

/// A port as the user names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "target")]
pub enum PortSpec {
    /// A serial port opened by name: `COM7`, `/dev/ttyUSB0`, `/dev/cu.usbmodem1`, `/dev/pts/3`.
    Serial(String),
    /// A USB EDL device driven through libusb.
    Usb(UsbSelector),
}

impl PortSpec {
    /// Parse what a user typed. Never fails: anything that is not `usb…` is a serial port
    /// name, checked only when opened.
    pub fn parse(text: &str) -> PortSpec {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if lower == "usb" {
            return PortSpec::Usb(UsbSelector::Any);
        }
        if let Some(rest) = strip_prefix_ci(text, "usb:") {
            let rest = rest.trim();
            if rest.is_empty() {
                return PortSpec::Usb(UsbSelector::Any);
            }
            if is_port_path(rest) {
                return PortSpec::Usb(UsbSelector::Path(rest.to_string()));
            }
            return PortSpec::Usb(UsbSelector::Serial(rest.to_string()));
        }
        PortSpec::Serial(text.to_string())
    }
}

impl std::str::FromStr for PortSpec {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(PortSpec::parse(s))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Serial(name) => f.write_str(name),
            PortSpec::Usb(UsbSelector::Any) => f.write_str("usb"),
            PortSpec::Usb(UsbSelector::Path(p)) => write!(f, "usb:{p}"),
            PortSpec::Usb(UsbSelector::Serial(s)) => write!(f, "usb:{s}"),
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// `BUS-PORT[.PORT…]`, all decimal: `1-1`, `3-2.4.1`.
pub(crate) fn is_port_path(text: &str) -> bool {
    let Some((bus, chain)) = text.split_once('-') else {
        return false;
    };
    let decimal = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    decimal(bus) && chain.split('.').all(decimal)
}

/// Whether `name` names a virtual board (`virtual`, `virtual:PROFILE…`), which only the
/// virtual bus opens.
pub fn is_virtual_name(name: &str) -> bool {
    let name = name.trim();
    name.eq_ignore_ascii_case("virtual") || strip_prefix_ci(name, "virtual:").is_some()
}

/// Open a serial or USB port on this computer. A virtual board's name is refused with a
/// reason: virtual boards live on the virtual bus.
pub fn open(spec: &PortSpec) -> Result<Box<dyn Transport>, TransportError> {
    match spec {
        PortSpec::Serial(name) if is_virtual_name(name) => Err(TransportError::new(
            TransportErrorKind::NotFound,
            "open",
            name.clone(),
        )
        .with_detail(
            "a virtual board lives on the virtual bus (oasis-vdev), not on this computer's ports",
        )),
        PortSpec::Serial(name) => Ok(Box::new(crate::serial::SerialTransport::open(name)?)),
        PortSpec::Usb(selector) => Ok(Box::new(crate::usb::UsbTransport::open(selector)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let cases = [
            ("/dev/ttyUSB0", PortSpec::Serial("/dev/ttyUSB0".into())),
            ("COM7", PortSpec::Serial("COM7".into())),
            ("/dev/pts/4", PortSpec::Serial("/dev/pts/4".into())),
            (
                "/dev/cu.usbmodem14101",
                PortSpec::Serial("/dev/cu.usbmodem14101".into()),
            ),
            ("usb", PortSpec::Usb(UsbSelector::Any)),
            ("USB", PortSpec::Usb(UsbSelector::Any)),
            (
                "usb:1-1.4",
                PortSpec::Usb(UsbSelector::Path("1-1.4".into())),
            ),
            ("usb:3-2", PortSpec::Usb(UsbSelector::Path("3-2".into()))),
            (
                "usb:0AB1C2D3",
                PortSpec::Usb(UsbSelector::Serial("0AB1C2D3".into())),
            ),
            (
                "usb:12-ab",
                PortSpec::Usb(UsbSelector::Serial("12-ab".into())),
            ),
            ("virtual:bg95", PortSpec::Serial("virtual:bg95".into())),
            ("  COM12 ", PortSpec::Serial("COM12".into())),
        ];
        for (text, want) in cases {
            assert_eq!(PortSpec::parse(text), want, "parsing {text:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "/dev/ttyUSB0",
            "COM7",
            "usb",
            "usb:1-1.4",
            "usb:ABCDEF01",
            "virtual",
            "virtual:ec25",
        ] {
            let spec = PortSpec::parse(text);
            assert_eq!(spec.to_string(), text);
            assert_eq!(PortSpec::parse(&spec.to_string()), spec);
        }
    }

    #[test]
    fn port_path_shape() {
        assert!(is_port_path("1-1"));
        assert!(is_port_path("1-1.4.2"));
        assert!(!is_port_path("1-"));
        assert!(!is_port_path("1-1."));
        assert!(!is_port_path("-1"));
        assert!(!is_port_path("a-1"));
        assert!(!is_port_path("11"));
    }

    #[test]
    fn virtual_is_refused_with_a_reason() {
        let err = match open(&PortSpec::parse("virtual:ec25")) {
            Err(e) => e,
            Ok(_) => panic!("virtual must not open here"),
        };
        assert_eq!(err.kind, TransportErrorKind::NotFound);
        assert!(err.to_string().contains("virtual bus"), "{err}");
        assert!(is_virtual_name("Virtual"));
        assert!(is_virtual_name("virtual:eg25@normal"));
        assert!(!is_virtual_name("/dev/virtualtty"));
    }
}
