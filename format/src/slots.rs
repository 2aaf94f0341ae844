//! The block codec the minute rows ([`super::minutes`]) and the day rows ([`super::days`])
//! share: a cover, a table of the block's strings, then per slot (a minute of an hour, or an
//! hour of a day) with anything in it its index, a flags byte and the fields the flags name —
//! active and idle ms (varints), the apps (count, then string index, state byte and ms each),
//! CPU and memory (mean and peak, tenths of a percent, varints), the foreground process (string
//! index), the users (count and string indexes), logons (varint). Blocks are read by the
//! thousand, so decoding keeps one zstd context and one buffer per thread.

use std::cell::RefCell;
use std::sync::Arc;

use zstd_safe::{CCtx, DCtx};

use super::minutes::{Level, Minute};
use super::summary::{get_str_ref, put_str, state_byte, state_of_byte};
use super::varint::{get_varint, put_varint};

const LEVEL: i32 = 3;

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
    static PLAIN: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

const ACTIVE: u8 = 1;
const IDLE: u8 = 2;
const APPS: u8 = 4;
const CPU: u8 = 8;
const MEMORY: u8 = 16;
const FOREGROUND: u8 = 32;
const USERS: u8 = 64;
const LOGONS: u8 = 128;

/// Encodes `slots` (each a slot index and what it held) under `version`: the layout the module
/// header describes, shared by the hour blocks (slots of a minute, `compress`ed) and the day
/// blocks (slots of an hour, kept plain: zstd saves them little and costs a read more).
pub(crate) fn encode_slots(
    version: u8,
    cover_ms: i64,
    slots: &[(u8, Minute)],
    compress: bool,
) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    let mut table: Vec<&str> = Vec::new();
    put_varint(&mut body, slots.len() as u64);
    for (at, m) in slots {
        body.push(*at);
        let mut flags = 0;
        for (on, bit) in [
            (m.active_ms > 0, ACTIVE),
            (m.idle_ms > 0, IDLE),
            (!m.apps.is_empty(), APPS),
            (m.cpu.is_some(), CPU),
            (m.memory.is_some(), MEMORY),
            (m.foreground.is_some(), FOREGROUND),
            (!m.users.is_empty(), USERS),
            (m.logons > 0, LOGONS),
        ] {
            if on {
                flags |= bit;
            }
        }
        body.push(flags);
        for v in [m.active_ms, m.idle_ms].into_iter().filter(|v| *v > 0) {
            put_varint(&mut body, u64::from(v));
        }
        if !m.apps.is_empty() {
            put_varint(&mut body, m.apps.len() as u64);
            for (name, state, ms) in &m.apps {
                put_varint(&mut body, index(name, &mut table));
                body.push(state_byte(*state));
                put_varint(&mut body, u64::from(*ms));
            }
        }
        for level in [m.cpu, m.memory].into_iter().flatten() {
            put_varint(&mut body, u64::from(level.mean_tenths));
            put_varint(&mut body, u64::from(level.max_tenths));
        }
        if let Some(fg) = &m.foreground {
            put_varint(&mut body, index(fg, &mut table));
        }
        if !m.users.is_empty() {
            put_varint(&mut body, m.users.len() as u64);
            for user in &m.users {
                put_varint(&mut body, index(user, &mut table));
            }
        }
        if m.logons > 0 {
            put_varint(&mut body, u64::from(m.logons));
        }
    }
    let mut plain = Vec::with_capacity(body.len() + 64);
    put_varint(
        &mut plain,
        u64::try_from(cover_ms).map_err(|_| "negative cover")?,
    );
    put_varint(&mut plain, table.len() as u64);
    for s in &table {
        put_str(&mut plain, s);
    }
    plain.extend_from_slice(&body);
    if !compress {
        plain.insert(0, version);
        return Ok(plain);
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(plain.len()) + 1);
    out.push(version);
    let mut frame = Vec::with_capacity(zstd_safe::compress_bound(plain.len()));
    CCTX.with(|c| c.borrow_mut().compress(&mut frame, &plain, LEVEL))
        .map_err(|_| "zstd compression failed")?;
    out.extend_from_slice(&frame);
    Ok(out)
}

/// A block's slots: each its index and what it held.
pub(crate) type Slots = Vec<(u8, Minute)>;

/// Decodes what [`encode_slots`] compressed under `version`: at most `slot_count` slots of
/// `slot_ms` each, in order, none covered for longer than its length.
pub(crate) fn decode_slots(
    bytes: &[u8],
    version: u8,
    slot_count: u8,
    slot_ms: i64,
) -> Result<(i64, Slots), &'static str> {
    let (&found, frame) = bytes.split_first().ok_or("empty block")?;
    if found != version {
        return Err("unknown block version");
    }
    let size = zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or("block without its size")?;
    if size > 1 << 24 {
        return Err("block too large");
    }
    // Blocks are read by the thousand: one buffer and one context per thread (a context per
    // call costs an allocation of ~100 KB, more than decoding a small block).
    PLAIN.with(|buffer| {
        let mut plain = buffer.borrow_mut();
        plain.clear();
        plain.reserve(usize::try_from(size).unwrap_or(0));
        DCTX.with(|d| d.borrow_mut().decompress(&mut *plain, frame))
            .map_err(|_| "block does not decompress")?;
        match parse_slots(&plain, slot_count, slot_ms)? {
            (cover_ms, slots, []) => Ok((cover_ms, slots)),
            _ => Err("trailing bytes in block"),
        }
    })
}

/// Decodes an uncompressed block made by [`encode_slots`] under `version`, followed by bytes
/// of the caller's: the slots, and those bytes.
pub(crate) fn decode_plain_slots(
    bytes: &[u8],
    version: u8,
    slot_count: u8,
    slot_ms: i64,
) -> Result<(i64, Slots, &[u8]), &'static str> {
    let (&found, rest) = bytes.split_first().ok_or("empty block")?;
    if found != version {
        return Err("unknown block version");
    }
    parse_slots(rest, slot_count, slot_ms)
}

/// The slots of a decompressed block, and the bytes after them.
fn parse_slots(
    b: &[u8],
    slot_count: u8,
    slot_ms: i64,
) -> Result<(i64, Slots, &[u8]), &'static str> {
    let mut pos = 0;
    let varint = |pos: &mut usize| get_varint(b, pos).ok_or("truncated block");
    let cover_ms = i64::try_from(varint(&mut pos)?).map_err(|_| "cover out of range")?;
    let count = varint(&mut pos)?;
    let mut table: Vec<Arc<str>> = Vec::new();
    for _ in 0..count {
        table.push(Arc::from(get_str_ref(b, &mut pos)?));
    }
    let string = |i: u64| -> Result<Arc<str>, &'static str> {
        usize::try_from(i)
            .ok()
            .and_then(|i| table.get(i))
            .cloned()
            .ok_or("string index out of range")
    };
    let small = |v: u64| u32::try_from(v).map_err(|_| "value out of range");
    let tenths = |v: u64| u16::try_from(v).map_err(|_| "level out of range");
    let slots_count = varint(&mut pos)?;
    let mut slots = Vec::with_capacity(usize::try_from(slots_count.min(60)).unwrap_or(0));
    let mut last = None;
    for _ in 0..slots_count {
        let at = *b.get(pos).ok_or("truncated block")?;
        let flags = *b.get(pos + 1).ok_or("truncated block")?;
        pos += 2;
        if at >= slot_count || last.is_some_and(|l| at <= l) {
            return Err("slots out of order");
        }
        last = Some(at);
        let mut m = Minute::default();
        if flags & ACTIVE != 0 {
            m.active_ms = small(varint(&mut pos)?)?;
        }
        if flags & IDLE != 0 {
            m.idle_ms = small(varint(&mut pos)?)?;
        }
        if flags & APPS != 0 {
            for _ in 0..varint(&mut pos)? {
                let name = string(varint(&mut pos)?)?;
                let state = state_of_byte(*b.get(pos).ok_or("truncated block")?)?;
                pos += 1;
                m.apps.push((name, state, small(varint(&mut pos)?)?));
            }
        }
        for (bit, slot) in [(CPU, &mut m.cpu), (MEMORY, &mut m.memory)] {
            if flags & bit != 0 {
                *slot = Some(Level {
                    mean_tenths: tenths(varint(&mut pos)?)?,
                    max_tenths: tenths(varint(&mut pos)?)?,
                });
            }
        }
        if flags & FOREGROUND != 0 {
            m.foreground = Some(string(varint(&mut pos)?)?);
        }
        if flags & USERS != 0 {
            for _ in 0..varint(&mut pos)? {
                m.users.push(string(varint(&mut pos)?)?);
            }
        }
        if flags & LOGONS != 0 {
            m.logons = small(varint(&mut pos)?)?;
        }
        if i64::from(m.active_ms) + i64::from(m.idle_ms) > slot_ms {
            return Err("a slot covered for longer than it lasts");
        }
        slots.push((at, m));
    }
    Ok((cover_ms, slots, &b[pos..]))
}

/// The index of `s` in the block's strings, added when new.
fn index<'a>(s: &'a str, table: &mut Vec<&'a str>) -> u64 {
    match table.iter().position(|x| *x == s) {
        Some(i) => i as u64,
        None => {
            table.push(s);
            table.len() as u64 - 1
        }
    }
}
