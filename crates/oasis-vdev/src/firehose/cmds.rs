//! Firehose command handlers: configure, program, read, erase, patch, getsha256digest,
//! getstorageinfo, nop, power, setbootablestoragedrive, and the refusals.

use oasis_proto::firehose::command::{Command, PowerAction};
use oasis_proto::firehose::xml::{Element, parse_number};
use sha2::{Digest, Sha256};

use super::expr::{Env, eval};
use super::{FirehoseTarget, MAX_XML, RawIn};
use crate::device::{Ctx, Transition};
use crate::fault::FaultKind;
use crate::outbox::ReadJob;
use crate::profile::StorageKind;
use crate::storage::Storage;

type T<'a> = &'a mut FirehoseTarget;

/// Route one command.
pub(super) fn dispatch(
    t: T<'_>,
    ctx: &mut Ctx<'_>,
    el: &Element,
    tag: &str,
    fault: Option<&FaultKind>,
) -> Transition {
    let nak = fault == Some(&FaultKind::Nak);
    if tag == "configure" {
        configure(t, ctx, el, nak);
        return Transition::Stay;
    }
    if tag == "benchmark" {
        let why = "ERROR: <benchmark> refused: it overwrites LUN 0 from sector 0 on; this programmer never runs it";
        ctx.note("host sent <benchmark>".into());
        t.finish(ctx, false, Some(why));
        return Transition::Stay;
    }
    let known = ctx.profile.supported_functions.iter().any(|f| f == tag);
    let cmd = match Command::from_element(el) {
        Ok(c) => c,
        Err(e) => {
            t.finish(ctx, false, Some(&format!("ERROR: {e}")));
            return Transition::Stay;
        }
    };
    if known {
        t.log(ctx, &format!("INFO: Calling handler for {tag}"));
    }
    if nak && !matches!(cmd, Command::Program { .. } | Command::Read { .. }) {
        let log = failure_log(ctx, tag);
        t.finish(ctx, false, Some(&log));
        return Transition::Stay;
    }
    let unplug = match fault {
        Some(FaultKind::UnplugInData(at)) => Some(*at),
        _ => None,
    };
    let mid = fault == Some(&FaultKind::NakInData);
    run(t, ctx, cmd, tag, known, (nak, mid), unplug)
}

/// Execute a parsed command (injected NAKs of non-data commands already handled).
fn run(
    t: T<'_>,
    ctx: &mut Ctx<'_>,
    cmd: Command,
    tag: &str,
    known: bool,
    (nak, mid): (bool, bool),
    unplug: Option<Option<u64>>,
) -> Transition {
    match cmd {
        Command::Program { region, .. } => {
            program(t, ctx, resolve_region(ctx, &region), (nak, mid), unplug);
        }
        Command::Read { region, extra } => {
            if let Err(why) = nand_pages_per_block(ctx, &extra) {
                refuse(t, ctx, &[why]);
            } else {
                read(t, ctx, resolve_region(ctx, &region), nak, unplug);
            }
        }
        Command::Erase {
            sector_size,
            physical_partition,
            start_sector,
            num_sectors,
            ..
        } => {
            erase(
                t,
                ctx,
                sector_size,
                physical_partition,
                start_sector.as_deref(),
                num_sectors,
            );
        }
        Command::Patch(p) => patch(t, ctx, &p),
        Command::GetSha256Digest { region } => {
            digest(t, ctx, resolve_region(ctx, &region));
        }
        Command::GetStorageInfo { physical_partition } => storage_info(t, ctx, physical_partition),
        Command::Nop => t.finish(ctx, true, None),
        Command::Power { action, .. } => {
            t.finish(ctx, true, None);
            return match action {
                PowerAction::Reset => Transition::Reboot,
                PowerAction::Off => Transition::PowerOff,
                PowerAction::ResetToEdl => Transition::RebootToEdl,
            };
        }
        Command::SetBootableStorageDrive { value } => bootable(t, ctx, value),
        _ if known => {
            let why = format!("ERROR: <{tag}> is not supported by this (virtual) programmer build");
            ctx.note(format!("host sent <{tag}>"));
            t.finish(ctx, false, Some(&why));
        }
        _ => {
            ctx.note(format!("host sent unknown tag <{tag}>"));
            t.finish(
                ctx,
                false,
                Some(&format!("ERROR: Unrecognized tag '{tag}'")),
            );
        }
    }
    Transition::Stay
}

/// A believable log for an injected failure of `tag`.
fn failure_log(ctx: &Ctx<'_>, tag: &str) -> String {
    let nand = matches!(ctx.profile.storage, StorageKind::Nand { .. });
    match (tag, nand) {
        ("program", true) => "ERROR: Failed to write page: NAND program operation failed (status 0x1), block marked bad".into(),
        ("program", false) => "ERROR: Failed to write sectors: storage returned error 0x5".into(),
        ("read", true) => "ERROR: Read failed: uncorrectable ECC error".into(),
        ("erase", true) => "ERROR: Failed to erase block: NAND erase operation failed (status 0x1)".into(),
        _ => format!("ERROR: {tag} failed (status 0x1)"),
    }
}

fn configure(t: T<'_>, ctx: &mut Ctx<'_>, el: &Element, nak: bool) {
    let p = ctx.profile;
    let ours = p.storage.memory_name();
    let max = u64::from(p.max_payload);
    t.log(ctx, "INFO: Calling handler for configure");
    if let Some(m) = el.attr("MemoryName") {
        if !p.old_function_log {
            t.log(ctx, &format!("INFO: Storage type set to value {m}"));
        }
        if !m.trim().eq_ignore_ascii_case(ours) {
            let why = format!(
                "ERROR: Storage type {m} is not supported by this programmer (it drives {ours})"
            );
            ctx.note(why.clone());
            return t.finish(ctx, false, Some(&why));
        }
    }
    if nak {
        return t.finish(
            ctx,
            false,
            Some("ERROR: Failed to initialize the storage device (status 0x5)"),
        );
    }
    if let Some(z) = el.attr("ZlpAwareHost") {
        t.zlp_aware = z.trim() != "0";
    }
    let asked = match el.attr("MaxPayloadSizeToTargetInBytes") {
        None => t.payload,
        Some(v) => match parse_number(v) {
            Some(n) if n > 0 && n.is_multiple_of(512) => n,
            _ => {
                let why = format!(
                    "ERROR: MaxPayloadSizeToTargetInBytes='{v}' must be a non-zero multiple of 512"
                );
                ctx.note(why.clone());
                return t.finish(ctx, false, Some(&why));
            }
        },
    };
    let ok = asked <= max;
    if ok {
        t.payload = asked;
    } else {
        let why = format!(
            "ERROR: Host's MaxPayloadSizeToTargetInBytes={asked} is larger than this target's maximum {max}"
        );
        t.log(ctx, &why);
    }
    let accepted = if ok { asked } else { max };
    let attrs = configure_reply(p, accepted);
    t.respond(ctx, ok, &attrs);
}

/// Attributes of the configure response, as the two programmer generations send them.
fn configure_reply(p: &crate::profile::Profile, accepted: u64) -> Vec<(&'static str, String)> {
    let max = u64::from(p.max_payload);
    let supported = if p.old_function_log { accepted } else { max };
    let mut attrs = vec![
        ("MemoryName", p.storage.memory_name().to_string()),
        ("MinVersionSupported", "1".into()),
        ("Version", "1".into()),
        ("MaxPayloadSizeToTargetInBytes", accepted.to_string()),
        (
            "MaxPayloadSizeToTargetInBytesSupported",
            supported.to_string(),
        ),
        ("MaxXMLSizeInBytes", MAX_XML.to_string()),
    ];
    if p.old_function_log {
        attrs.push(("MaxPayloadSizeFromTargetInBytes", "4096".into()));
    }
    if let Some(n) = &p.target_name {
        attrs.push(("TargetName", n.clone()));
    }
    attrs.push(("DateTime", p.build_date.replace(" @ ", " - ")));
    attrs
}

type Region = Result<(u32, u64, u64), String>;

fn crc_env(storage: &Storage, lun: u32) -> impl FnMut(u64, u64) -> Result<u32, String> + '_ {
    move |start, len| {
        if len > 64 * 1024 * 1024 {
            return Err(format!("CRC32 length {len} is too large"));
        }
        let ss = storage.sector_size() as u64;
        let sectors = len.div_ceil(ss);
        storage
            .check(lun, start, sectors)
            .map_err(|e| e.to_string())?;
        let data = storage.read(lun, start, sectors);
        Ok(crc32fast::hash(&data[..len as usize]))
    }
}

fn eval_in(storage: &Storage, lun: u32, text: &str) -> Result<u64, String> {
    let sectors = storage.sectors(lun).unwrap_or(0);
    let blocks = storage
        .kind()
        .pages_per_block()
        .map_or(sectors, |p| sectors / u64::from(p));
    let mut crc = crc_env(storage, lun);
    let mut env = Env {
        num_disk_sectors: sectors,
        num_disk_blocks: blocks,
        crc32: &mut crc,
    };
    eval(text, &mut env)
}

fn resolve_region(ctx: &Ctx<'_>, r: &oasis_proto::firehose::Region) -> Region {
    resolve(
        ctx,
        r.sector_size,
        r.physical_partition,
        &r.start_sector,
        r.num_sectors,
    )
}

/// Check sector size and partition, evaluate the start, check the range. Err = the log line.
fn resolve(ctx: &Ctx<'_>, sector_size: u32, lun: u32, start: &str, count: u64) -> Region {
    let ss = ctx.storage.sector_size() as u32;
    if sector_size != ss {
        return Err(format!(
            "ERROR: Attribute 'SECTOR_SIZE_IN_BYTES'={sector_size} must be equal to disk sector size {ss}"
        ));
    }
    let Some(size) = ctx.storage.sectors(lun) else {
        return Err(format!(
            "ERROR: physical_partition_number {lun} does not exist (this device has {})",
            ctx.storage.kind().partitions()
        ));
    };
    let s = eval_in(ctx.storage, lun, start)
        .map_err(|e| format!("ERROR: Could not evaluate start_sector '{start}': {e}"))?;
    if s.saturating_add(count) > size {
        return Err(format!(
            "ERROR: start_sector {s} + num_partition_sectors {count} goes past the end of physical partition {lun} ({size} sectors)"
        ));
    }
    Ok((lun, s, count))
}

/// A NAND programmer reads only with the device's pages per block (the real MDM9x07 one NAKs:
/// "Attribute 'PAGES_PER_BLOCK'=%lld must be equal to disk pages per block %lld"); an absent
/// attribute counts as 0.
fn nand_pages_per_block(ctx: &Ctx<'_>, extra: &[(String, String)]) -> Result<(), String> {
    let Some(ppb) = ctx.storage.kind().pages_per_block().map(u64::from) else {
        return Ok(());
    };
    let given = extra
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("PAGES_PER_BLOCK"))
        .map(|(_, v)| parse_number(v).unwrap_or(0))
        .unwrap_or(0);
    if given == ppb {
        Ok(())
    } else {
        Err(format!(
            "ERROR: Attribute 'PAGES_PER_BLOCK'={given} must be equal to disk pages per block {ppb}"
        ))
    }
}

fn nand_open_log(t: T<'_>, ctx: &mut Ctx<'_>) {
    if let StorageKind::Nand { total_blocks, .. } = ctx.profile.storage {
        if t.nand_opened() {
            t.log(
                ctx,
                "INFO: NAND was previously open, returning existing handle 0.",
            );
        } else {
            t.log(
                ctx,
                &format!("INFO: [296] bbt_size:100 blocks:{total_blocks}."),
            );
        }
    }
}

/// NAND start (and, for erase, count) must be whole erase blocks. Err = the real programmer's
/// two log lines. The real programmer says "start_sector unaligned" also when only the count
/// is off (EG25-G issue: start 13952 is a multiple of 128 pages, 576 is not).
fn nand_aligned(ctx: &Ctx<'_>, start: u64, count: u64, what: &str) -> Result<(), Vec<String>> {
    let Some(ppb) = ctx.storage.kind().pages_per_block().map(u64::from) else {
        return Ok(());
    };
    if !start.is_multiple_of(ppb) || (what == "erase" && !count.is_multiple_of(ppb)) {
        let first = format!("start_sector = {start} and num_partition_sectors =0x{count:x})");
        return Err(vec![first, "start_sector unaligned".into()]);
    }
    Ok(())
}

fn refuse(t: T<'_>, ctx: &mut Ctx<'_>, lines: &[String]) {
    ctx.note(lines.join(" / "));
    for l in lines {
        t.log(ctx, l);
    }
    t.respond(ctx, false, &[("rawmode", "false".into())]);
}

fn program(
    t: T<'_>,
    ctx: &mut Ctx<'_>,
    r: Region,
    (nak, mid): (bool, bool),
    unplug: Option<Option<u64>>,
) {
    nand_open_log(t, ctx);
    let (lun, start, count) = match r {
        Ok(r) => r,
        Err(why) => return refuse(t, ctx, &[why]),
    };
    if count == 0 {
        return refuse(
            t,
            ctx,
            &["ERROR: num_partition_sectors is 0: nothing to program".into()],
        );
    }
    if let Err(lines) = nand_aligned(ctx, start, count, "program") {
        return refuse(t, ctx, &lines);
    }
    let total = count * ctx.storage.sector_size() as u64;
    t.respond(ctx, true, &[("rawmode", "true".into())]);
    t.start_raw(RawIn {
        lun,
        next_sector: start,
        remaining: total,
        partial: Vec::new(),
        fail_log: nak.then(|| failure_log(ctx, "program")),
        unplug_after: unplug.map(|at| at.unwrap_or(total / 2)),
        nak_after: mid.then(|| {
            let ss = ctx.storage.sector_size() as u64;
            ((total / 2 / ss).max(1) * ss, failure_log(ctx, "program"))
        }),
        received: 0,
    });
}

/// Write the whole sectors of arriving raw data.
pub(super) fn store_raw(_t: T<'_>, ctx: &mut Ctx<'_>, raw: &mut RawIn, data: &[u8]) {
    raw.remaining = raw.remaining.saturating_sub(data.len() as u64);
    raw.partial.extend_from_slice(data);
    let ss = ctx.storage.sector_size();
    let whole = raw.partial.len() / ss * ss;
    if whole == 0 {
        return;
    }
    let chunk: Vec<u8> = raw.partial.drain(..whole).collect();
    if raw.fail_log.is_none() {
        // The range was checked before the ACK; a failure here cannot happen.
        let _ = ctx.storage.write(raw.lun, raw.next_sector, &chunk);
    }
    raw.next_sector += (whole / ss) as u64;
    if let Some(rate) = ctx.nand_rate.filter(|r| *r > 0)
        && matches!(ctx.profile.storage, StorageKind::Nand { .. })
    {
        ctx.busy += std::time::Duration::from_secs_f64(whole as f64 / rate as f64);
    }
}

fn read(t: T<'_>, ctx: &mut Ctx<'_>, r: Region, nak: bool, unplug: Option<Option<u64>>) {
    nand_open_log(t, ctx);
    let (lun, start, count) = match r {
        Ok(r) => r,
        Err(why) => return refuse(t, ctx, &[why]),
    };
    if count == 0 {
        return refuse(
            t,
            ctx,
            &["ERROR: num_partition_sectors is 0: nothing to read".into()],
        );
    }
    let ss = ctx.storage.sector_size() as u64;
    t.respond(ctx, true, &[("rawmode", "true".into())]);
    let total = count * ss;
    ctx.out.push_read(ReadJob {
        lun,
        next: start,
        remaining: count,
        chunk_sectors: (t.payload / ss).max(1),
        unplug_after: unplug.map(|at| at.unwrap_or(total / 2)),
        sent: 0,
    });
    let log = nak.then(|| failure_log(ctx, "read"));
    t.finish(ctx, !nak, log.as_deref());
}

fn erase(t: T<'_>, ctx: &mut Ctx<'_>, ss: u32, lun: u32, start: Option<&str>, count: Option<u64>) {
    nand_open_log(t, ctx);
    let Some(size) = ctx.storage.sectors(lun) else {
        let why = format!("ERROR: physical_partition_number {lun} does not exist");
        return refuse(t, ctx, &[why]);
    };
    let Some(count) = count else {
        // No count: the whole physical partition (BG95 "erase whole disk" line).
        t.log(
            ctx,
            &format!("INFO: Erasing the whole of physical partition {lun} ({size} sectors)"),
        );
        let _ = ctx.storage.erase(lun, 0, size);
        return t.finish(ctx, true, None);
    };
    let r = resolve(ctx, ss, lun, start.unwrap_or("0"), count);
    let (lun, start, count) = match r {
        Ok(r) => r,
        Err(why) => return refuse(t, ctx, &[why]),
    };
    if let Err(lines) = nand_aligned(ctx, start, count, "erase") {
        return refuse(t, ctx, &lines);
    }
    t.log(
        ctx,
        &format!("INFO: Erasing start sector {start}, num sectors {count}"),
    );
    let _ = ctx.storage.erase(lun, start, count);
    t.finish(ctx, true, None);
}

fn patch(t: T<'_>, ctx: &mut Ctx<'_>, p: &oasis_proto::firehose::Patch) {
    if !p.filename.trim().eq_ignore_ascii_case("DISK") {
        ctx.note(format!(
            "host sent a patch for file '{}' (only filename=\"DISK\" is for the device)",
            p.filename
        ));
        let msg = format!(
            "INFO: Patch for '{}' is not for the disk, ignored",
            p.filename
        );
        return t.finish(ctx, true, Some(&msg));
    }
    let lun = p.physical_partition;
    let r = resolve(ctx, p.sector_size, lun, &p.start_sector, 1);
    let (lun, sector, _) = match r {
        Ok(r) => r,
        Err(why) => return refuse(t, ctx, &[why]),
    };
    let size = p.size_in_bytes as usize;
    let ss = ctx.storage.sector_size();
    let off = usize::try_from(p.byte_offset).unwrap_or(usize::MAX);
    if !(1..=8).contains(&size) || off.saturating_add(size) > ss {
        let why = format!(
            "ERROR: Patch of {size} bytes at byte_offset {} does not fit in a {ss}-byte sector (size_in_bytes must be 1..8)",
            p.byte_offset
        );
        return refuse(t, ctx, &[why]);
    }
    let value = match eval_in(ctx.storage, lun, &p.value) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                t,
                ctx,
                &[format!(
                    "ERROR: Could not evaluate value '{}': {e}",
                    p.value
                )],
            );
        }
    };
    let mut data = ctx.storage.read(lun, sector, 1);
    data[off..off + size].copy_from_slice(&value.to_le_bytes()[..size]);
    let _ = ctx.storage.overwrite(lun, sector, &data);
    t.log(
        ctx,
        &format!("INFO: Patched sector {sector} byte_offset {off} with 0x{value:x} ({size} bytes)"),
    );
    t.finish(ctx, true, None);
}

fn digest(t: T<'_>, ctx: &mut Ctx<'_>, r: Region) {
    let (lun, start, count) = match r {
        Ok(r) => r,
        Err(why) => return refuse(t, ctx, &[why]),
    };
    let mut h = Sha256::new();
    let mut s = start;
    while s < start + count {
        let n = 256.min(start + count - s);
        h.update(ctx.storage.read(lun, s, n));
        s += n;
    }
    t.log(ctx, &format!("INFO: Digest {}", hex::encode(h.finalize())));
    t.finish(ctx, true, None);
}

fn storage_info(t: T<'_>, ctx: &mut Ctx<'_>, lun: u32) {
    let p = ctx.profile;
    let Some(sectors) = p.storage.sectors(lun) else {
        return refuse(
            t,
            ctx,
            &[format!(
                "ERROR: physical_partition_number {lun} does not exist"
            )],
        );
    };
    let (total_blocks, block_size, page_size, mem) = match &p.storage {
        StorageKind::Nand {
            page_size,
            pages_per_block,
            total_blocks,
        } => (
            u64::from(*total_blocks),
            page_size * pages_per_block,
            *page_size,
            "NAND",
        ),
        StorageKind::Emmc { .. } => (sectors, 512, 512, "eMMC"),
        StorageKind::Ufs { .. } => (sectors, 4096, 4096, "UFS"),
    };
    if matches!(p.storage, StorageKind::Ufs { .. }) {
        t.log(
            ctx,
            &format!("INFO: UFS Total Active LU: 0x{:x}", p.storage.partitions()),
        );
    }
    let json = format!(
        "INFO: {{\"storage_info\": {{\"total_blocks\":{total_blocks}, \"block_size\":{block_size}, \"page_size\":{page_size}, \"num_physical\":{}, \"manufacturer_id\":{}, \"serial_num\":{}, \"fw_version\":\"{}\",\"mem_type\":\"{mem}\",\"prod_name\":\"{}\"}}}}",
        p.storage.partitions(),
        0x98,
        p.serial,
        "0001",
        p.model
    );
    t.log(ctx, &json);
    t.finish(ctx, true, None);
}

fn bootable(t: T<'_>, ctx: &mut Ctx<'_>, value: u32) {
    if matches!(ctx.profile.storage, StorageKind::Nand { .. }) {
        ctx.note("host sent setbootablestoragedrive to a NAND board".into());
        return t.finish(
            ctx,
            true,
            Some("WARNING: setbootablestoragedrive has no meaning on NAND, ignored"),
        );
    }
    if value < ctx.profile.storage.partitions() {
        let msg = format!("INFO: Set bootable drive to {value}");
        t.finish(ctx, true, Some(&msg));
    } else {
        refuse(t, ctx, &[format!("ERROR: Invalid bootable drive {value}")]);
    }
}
