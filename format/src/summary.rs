//! A record's summary: the handful of fields reports read (idle, user active, CPU, memory,
//! process count, foreground process, watched apps' states), stored uncompressed in front of
//! the record's zstd frame so that reports over millions of snapshots never decompress or parse
//! process lists.
//!
//! Encoding (about 40 bytes): a flags byte; idle, CPU and memory as exact decimals (a zigzag
//! varint mantissa and a byte of decimal places, from the number's shortest text, so `41.3`
//! is three bytes and reads back as exactly `41.3`); the process count as a varint; the
//! foreground process as a length-prefixed string; the watched apps as a count, then each
//! name (length-prefixed) and state (one byte); since schema 5, when the flags say so, the
//! session's user (length-prefixed) and logon time (a varint, 0 when unknown, else the
//! zigzag of epoch ms plus one).

use idlewatch_protocol::{SnapshotFields, WatchedState};

use super::varint::{get_varint, put_varint, unzigzag, zigzag};

/// What reports need of a snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Seconds since the last input (`idle_seconds`, or the legacy `idle_time`).
    pub idle_seconds: Option<f64>,
    /// Whether a user was active.
    pub user_active: Option<bool>,
    /// Machine CPU, percent.
    pub cpu_percent: Option<f64>,
    /// Machine memory, percent.
    pub memory_percent: Option<f64>,
    /// Listed processes.
    pub processes: Option<u64>,
    /// The foreground process.
    pub foreground_process: Option<String>,
    /// Each watched app that has a state, in the snapshot's order.
    pub apps: Vec<(String, WatchedState)>,
    /// The user session at the machine, when the snapshot names one.
    pub session: Option<SessionSummary>,
}

/// Who was logged on, for logon and user counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// The user's name ("" when unknown).
    pub user: String,
    /// When they logged on, epoch ms, when known.
    pub since_ms: Option<i64>,
}

const IDLE: u8 = 1;
const ACTIVE_KNOWN: u8 = 2;
const ACTIVE: u8 = 4;
const CPU: u8 = 8;
const MEMORY: u8 = 16;
const PROCESSES: u8 = 32;
const FOREGROUND: u8 = 64;
const SESSION: u8 = 128;
/// Decimal places marking a number stored as its raw `f64` bits.
const RAW_F64: u8 = 0xFF;

impl Summary {
    /// The summary of parsed snapshot fields.
    #[must_use]
    pub fn of(fields: &SnapshotFields) -> Self {
        Self {
            idle_seconds: fields.idle(),
            user_active: fields.user_active,
            cpu_percent: fields.cpu_percent,
            memory_percent: fields.memory_percent,
            processes: fields.processes().map(|n| n as u64),
            foreground_process: fields.foreground_process.clone(),
            apps: fields
                .watched_apps()
                .into_iter()
                .filter_map(|(name, app)| Some((name, app.state?)))
                .collect(),
            session: fields.session.as_ref().map(|s| SessionSummary {
                user: s.user.clone().unwrap_or_default(),
                since_ms: s.since.map(|c| c.epoch_ms()),
            }),
        }
    }

    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        let mut set = |on: bool, bit: u8| {
            if on {
                flags |= bit;
            }
        };
        set(self.idle_seconds.is_some(), IDLE);
        set(self.user_active.is_some(), ACTIVE_KNOWN);
        set(self.user_active == Some(true), ACTIVE);
        set(self.cpu_percent.is_some(), CPU);
        set(self.memory_percent.is_some(), MEMORY);
        set(self.processes.is_some(), PROCESSES);
        set(self.foreground_process.is_some(), FOREGROUND);
        set(self.session.is_some(), SESSION);
        out.push(flags);
        for v in [self.idle_seconds, self.cpu_percent, self.memory_percent]
            .into_iter()
            .flatten()
        {
            put_decimal(out, v);
        }
        if let Some(n) = self.processes {
            put_varint(out, n);
        }
        if let Some(fg) = &self.foreground_process {
            put_str(out, fg);
        }
        put_varint(out, self.apps.len() as u64);
        for (name, state) in &self.apps {
            put_str(out, name);
            out.push(state_byte(*state));
        }
        if let Some(session) = &self.session {
            put_str(out, &session.user);
            put_varint(
                out,
                session
                    .since_ms
                    .map_or(0, |ms| zigzag(ms).saturating_add(1)),
            );
        }
    }

    /// Decodes a summary from all of `bytes`.
    ///
    /// # Errors
    /// What is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let mut pos = 0;
        let flags = *bytes.first().ok_or("empty summary")?;
        pos += 1;
        let number = |bit: u8, pos: &mut usize| -> Result<Option<f64>, &'static str> {
            if flags & bit == 0 {
                return Ok(None);
            }
            get_decimal(bytes, pos).map(Some)
        };
        let idle_seconds = number(IDLE, &mut pos)?;
        let cpu_percent = number(CPU, &mut pos)?;
        let memory_percent = number(MEMORY, &mut pos)?;
        let processes = if flags & PROCESSES == 0 {
            None
        } else {
            Some(get_varint(bytes, &mut pos).ok_or("truncated process count")?)
        };
        let foreground_process = if flags & FOREGROUND == 0 {
            None
        } else {
            Some(get_str(bytes, &mut pos)?)
        };
        let count = get_varint(bytes, &mut pos).ok_or("truncated app count")?;
        let mut apps = Vec::with_capacity(usize::try_from(count.min(64)).unwrap_or(0));
        for _ in 0..count {
            let name = get_str(bytes, &mut pos)?;
            let state = state_of_byte(*bytes.get(pos).ok_or("bad app state")?)?;
            pos += 1;
            apps.push((name, state));
        }
        let session = if flags & SESSION == 0 {
            None
        } else {
            let user = get_str(bytes, &mut pos)?;
            let since = get_varint(bytes, &mut pos).ok_or("truncated session")?;
            Some(SessionSummary {
                user,
                since_ms: (since > 0).then(|| unzigzag(since - 1)),
            })
        };
        if pos != bytes.len() {
            return Err("trailing bytes after the summary");
        }
        Ok(Self {
            idle_seconds,
            user_active: (flags & ACTIVE_KNOWN != 0).then_some(flags & ACTIVE != 0),
            cpu_percent,
            memory_percent,
            processes,
            foreground_process,
            apps,
            session,
        })
    }
}

/// A finite number with at most 18 significant digits as (mantissa, decimal places), from its
/// shortest round-trip text; `None` otherwise.
fn decimal_parts(v: f64) -> Option<(i64, u8)> {
    if !v.is_finite() {
        return None;
    }
    let text = format!("{v}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let places = u8::try_from(frac.len()).ok().filter(|p| *p < RAW_F64)?;
    let digits = format!("{int}{frac}");
    let mantissa: i64 = digits.parse().ok()?;
    Some((mantissa, places))
}

fn put_decimal(out: &mut Vec<u8>, v: f64) {
    match decimal_parts(v) {
        Some((mantissa, places)) => {
            put_varint(out, zigzag(mantissa));
            out.push(places);
        }
        None => {
            put_varint(out, 0);
            out.push(RAW_F64);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The powers of ten an f64 holds exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

fn get_decimal(bytes: &[u8], pos: &mut usize) -> Result<f64, &'static str> {
    let mantissa = unzigzag(get_varint(bytes, pos).ok_or("truncated number")?);
    let places = *bytes.get(*pos).ok_or("truncated number")?;
    *pos += 1;
    if places == RAW_F64 {
        let raw: [u8; 8] = bytes
            .get(*pos..*pos + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated number")?;
        *pos += 8;
        return Ok(f64::from_le_bytes(raw));
    }
    if places == 0 {
        return Ok(mantissa as f64);
    }
    // Clinger's fast path: the mantissa and the power of ten are both exact in an f64, so one
    // correctly rounded division gives the f64 nearest the decimal, as parsing its text does —
    // without formatting it (reports decode summaries by the hundred thousand).
    if mantissa.unsigned_abs() < 1 << 53
        && let Some(power) = POWERS_OF_TEN.get(usize::from(places))
    {
        return Ok(mantissa as f64 / power);
    }
    // Parsing the decimal text gives back exactly the number that was written.
    format!("{mantissa}e-{places}")
        .parse()
        .map_err(|_| "bad number")
}

/// A watched app's state as one byte (the summary's and the host-day rollup's).
pub fn state_byte(state: WatchedState) -> u8 {
    match state {
        WatchedState::Interactive => 0,
        WatchedState::Computing => 1,
        WatchedState::Idle => 2,
        WatchedState::NotRunning => 3,
    }
}

/// The inverse of [`state_byte`].
pub fn state_of_byte(byte: u8) -> Result<WatchedState, &'static str> {
    match byte {
        0 => Ok(WatchedState::Interactive),
        1 => Ok(WatchedState::Computing),
        2 => Ok(WatchedState::Idle),
        3 => Ok(WatchedState::NotRunning),
        _ => Err("bad app state"),
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn get_str(bytes: &[u8], pos: &mut usize) -> Result<String, &'static str> {
    get_str_ref(bytes, pos).map(str::to_owned)
}

/// As [`get_str`], borrowing the text.
pub(crate) fn get_str_ref<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a str, &'static str> {
    let len = usize::try_from(get_varint(bytes, pos).ok_or("truncated text")?)
        .map_err(|_| "text too long")?;
    let text = bytes
        .get(*pos..pos.saturating_add(len))
        .ok_or("truncated text")?;
    *pos += len;
    std::str::from_utf8(text).map_err(|_| "text is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &Summary) -> Summary {
        let mut out = Vec::new();
        s.encode(&mut out);
        Summary::decode(&out).unwrap()
    }

    #[test]
    fn decimals_read_without_their_text_are_the_numbers_their_text_gives() {
        // Every mantissa size and number of places the fast path takes, and past it.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bits = state % 64;
            let mantissa = i64::try_from((state >> 8) & ((1u64 << bits) - 1)).unwrap()
                * if state & 1 == 0 { 1 } else { -1 };
            let places = u8::try_from(1 + (state >> 40) % 25).unwrap();
            let mut bytes = Vec::new();
            put_varint(&mut bytes, zigzag(mantissa));
            bytes.push(places);
            let text: f64 = format!("{mantissa}e-{places}").parse().unwrap();
            let read = get_decimal(&bytes, &mut 0).unwrap();
            assert_eq!(read.to_bits(), text.to_bits(), "{mantissa}e-{places}");
        }
    }

    #[test]
    fn numbers_come_back_exactly_and_small() {
        for v in [
            0.0,
            41.3,
            12.5,
            3.0,
            0.1,
            1e-7,
            123_456.789,
            -2.25,
            1e300,
            f64::MAX,
            5e-324,
        ] {
            let s = Summary {
                cpu_percent: Some(v),
                ..Summary::default()
            };
            assert_eq!(round_trip(&s).cpu_percent, Some(v), "{v}");
        }
        let mut out = Vec::new();
        put_decimal(&mut out, 41.3);
        assert_eq!(out.len(), 3);
        let nan = Summary {
            idle_seconds: Some(f64::NAN),
            ..Summary::default()
        };
        assert!(round_trip(&nan).idle_seconds.unwrap().is_nan());
    }

    #[test]
    fn a_whole_summary_round_trips() {
        let fields = SnapshotFields::parse(
            r#"{"host":"pc","idle_seconds":4.25,"user_active":false,"cpu_percent":12.5,
                "memory_percent":41.3,"foreground_process":"ansys.exe","processes":[{},{}],
                "watched":{"Ansys":{"state":"computing"},"Rocky":{"running":false}},
                "rocky_running":true,"session":{"user":"ana","since":"2026-11-26T08:00:00Z"}}"#,
        )
        .unwrap();
        let s = Summary::of(&fields);
        assert_eq!(s.processes, Some(2));
        assert_eq!(s.user_active, Some(false));
        assert!(
            s.apps
                .iter()
                .any(|(n, st)| n == "Ansys" && *st == WatchedState::Computing)
        );
        assert_eq!(
            s.session,
            Some(SessionSummary {
                user: "ana".to_owned(),
                since_ms: Some(1_795_680_000_000)
            })
        );
        assert_eq!(round_trip(&s), s);
        let mut out = Vec::new();
        s.encode(&mut out);
        assert!(out.len() < 56, "{} bytes", out.len());
        assert_eq!(round_trip(&Summary::default()), Summary::default());
        assert!(Summary::decode(&out[..out.len() - 1]).is_err());
    }
}
