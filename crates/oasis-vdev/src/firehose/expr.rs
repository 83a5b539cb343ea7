//! The programmer's expression language for `start_sector` and patch `value`:
//! numbers (decimal, optional trailing `.`, or `0x` hex), `NUM_DISK_SECTORS`, `NUM_DISK_BLOCKS`
//! (NAND), `+ - * /`, parentheses, and `CRC32(start_sector, nbytes)`, as the older public
//! programmer evaluates them. Arithmetic is checked: overflow and underflow are errors.

/// What an expression may refer to.
pub(crate) struct Env<'a> {
    pub num_disk_sectors: u64,
    pub num_disk_blocks: u64,
    /// CRC-32 over `nbytes` read from `start_sector`.
    pub crc32: &'a mut dyn FnMut(u64, u64) -> Result<u32, String>,
}

struct P<'a, 'e> {
    s: &'a [u8],
    i: usize,
    env: &'a mut Env<'e>,
}

/// Evaluate `text`; the error says what was wrong and where.
pub(crate) fn eval(text: &str, env: &mut Env<'_>) -> Result<u64, String> {
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
        env,
    };
    let v = p.expr(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected {:?} at position {} of {text:?}",
            p.rest(),
            p.i
        ));
    }
    Ok(v)
}

impl P<'_, '_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }
    fn rest(&self) -> String {
        String::from_utf8_lossy(self.s.get(self.i..).unwrap_or_default()).into_owned()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expr(&mut self, depth: u32) -> Result<u64, String> {
        if depth > 32 {
            return Err("expression nested too deeply".into());
        }
        let mut v = self.term(depth)?;
        loop {
            if self.eat(b'+') {
                let r = self.term(depth)?;
                v = v.checked_add(r).ok_or("overflow in +")?;
            } else if self.eat(b'-') {
                let r = self.term(depth)?;
                v = v
                    .checked_sub(r)
                    .ok_or_else(|| format!("{v} - {r} is negative"))?;
            } else {
                return Ok(v);
            }
        }
    }
    fn term(&mut self, depth: u32) -> Result<u64, String> {
        let mut v = self.factor(depth)?;
        loop {
            if self.eat(b'*') {
                let r = self.factor(depth)?;
                v = v.checked_mul(r).ok_or("overflow in *")?;
            } else if self.eat(b'/') {
                let r = self.factor(depth)?;
                v = v.checked_div(r).ok_or("division by zero")?;
            } else {
                return Ok(v);
            }
        }
    }
    fn factor(&mut self, depth: u32) -> Result<u64, String> {
        self.ws();
        if self.eat(b'(') {
            let v = self.expr(depth + 1)?;
            return if self.eat(b')') {
                Ok(v)
            } else {
                Err(format!("missing ')' before {:?}", self.rest()))
            };
        }
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        match word {
            "" => Err(format!("expected a number at {:?}", self.rest())),
            "NUM_DISK_SECTORS" => Ok(self.env.num_disk_sectors),
            "NUM_DISK_BLOCKS" => Ok(self.env.num_disk_blocks),
            "CRC32" => self.crc(depth),
            w => {
                let v = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
                    u64::from_str_radix(h, 16).ok()
                } else {
                    w.parse().ok()
                };
                let v = v.ok_or_else(|| format!("{w:?} is not a number"))?;
                // A trailing '.' marks a decimal number in rawprogram/patch files.
                if self.s.get(self.i) == Some(&b'.') {
                    self.i += 1;
                }
                Ok(v)
            }
        }
    }
    fn crc(&mut self, depth: u32) -> Result<u64, String> {
        if !self.eat(b'(') {
            return Err("CRC32 needs (start_sector, nbytes)".into());
        }
        let start = self.expr(depth + 1)?;
        if !self.eat(b',') {
            return Err("CRC32 needs two arguments".into());
        }
        let len = self.expr(depth + 1)?;
        if !self.eat(b')') {
            return Err("missing ')' after CRC32 arguments".into());
        }
        (self.env.crc32)(start, len).map(u64::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Result<u64, String> {
        let mut crc = |start: u64, len: u64| Ok((start * 1000 + len) as u32);
        let mut env = Env {
            num_disk_sectors: 1000,
            num_disk_blocks: 10,
            crc32: &mut crc,
        };
        eval(s, &mut env)
    }

    #[test]
    fn evaluates_the_forms_real_files_use() {
        assert_eq!(ev("NUM_DISK_SECTORS-5."), Ok(995));
        assert_eq!(ev("NUM_DISK_SECTORS-1"), Ok(999));
        assert_eq!(ev("34"), Ok(34));
        assert_eq!(ev("0x10"), Ok(16));
        assert_eq!(ev("(4096*NUM_DISK_SECTORS)-20480."), Ok(4_075_520));
        assert_eq!(ev("CRC32(2,4096)"), Ok(6096));
        assert_eq!(ev("CRC32(NUM_DISK_SECTORS-5.,4096)"), Ok(999_096));
        assert_eq!(
            ev("NUM_DISK_BLOCKS-1458."),
            Err("10 - 1458 is negative".into())
        );
    }

    #[test]
    fn rejects_nonsense_without_panicking() {
        for bad in [
            "",
            "NUM_DISK",
            "5-",
            "(1",
            "1/0",
            "CRC32(1)",
            "abc",
            "1 2",
            "99999999999999999999*9",
        ] {
            assert!(ev(bad).is_err(), "{bad}");
        }
        assert!(ev(&"(".repeat(100)).is_err());
    }
}
