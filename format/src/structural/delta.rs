//! The body of a structural delta: what changed from the host's previous snapshot, as
//! structure.
//!
//! ```text
//! surround   0, then each number's difference          (same template as before)
//!          | 1, length, zstd frame of its text, the previous one as dictionary
//! separator  0 (as before) | 1, length, bytes
//! templates  count of new row templates, each as (1 + the known template it is cut from, or
//!            0), the bytes kept from its start and end, then the bytes between
//! runs       count, then (kept, removed, added) row counts, in row order
//! added      per added row: template id, its numbers (zigzag)
//! changes    columns C, C shifts, count, then per changed kept row: (gap << C | mask) and,
//!            per column in the mask, (difference >> shift) zigzag
//! ```
//!
//! Rows are matched by template and first number (the pid, for a process) in order, so a
//! process list that only gains and loses rows is runs of kept rows. A number's difference is
//! shifted right by the trailing zero bits all differences of its column share (memory sizes
//! moving in 4 KiB pages cost a byte less each).

use std::collections::HashMap;

use zstd_safe::{CCtx, DCtx};

use super::parsed::{Parsed, Row, Text};
use super::template::arity;
use crate::varint::{get_varint, put_varint, unzigzag, zigzag};

/// zstd level of the few text parts (new templates, a changed surround).
const LEVEL: i32 = 3;
/// Most number columns a changed row may have (the mask is a varint).
const MAX_COLUMNS: usize = 24;

/// Encodes `next` against `prev`; `None` when it cannot (the record is then stored whole).
pub(crate) fn encode(
    cctx: &mut CCtx<'static>,
    prev: &Parsed,
    prev_json: &[u8],
    next: &Parsed,
    out: &mut Vec<u8>,
) -> Option<()> {
    // Surround.
    if next.surround == prev.surround {
        out.push(0);
        for (a, b) in prev.surround_numbers.iter().zip(&next.surround_numbers) {
            put_varint(out, zigzag(b.wrapping_sub(*a)));
        }
    } else {
        out.push(1);
        put_frame(cctx, &next.surround_text, &prev.surround_text, out)?;
    }
    // Separator.
    if next.sep == prev.sep {
        out.push(0);
    } else {
        out.push(1);
        put_varint(out, next.sep.len() as u64);
        out.extend_from_slice(&next.sep);
    }
    // Row templates: the previous snapshot's, then the new ones in order of first use.
    let mut known: Vec<&[u8]> = prev.templates.iter().map(Vec::as_slice).collect();
    let mut ids = Vec::with_capacity(next.templates.len());
    let mut added = Vec::new();
    for template in &next.templates {
        let id = match prev.id_of(template) {
            Some(id) => id,
            None => {
                put_template(template, &known, &mut added);
                known.push(template);
                u32::try_from(known.len() - 1).ok()?
            }
        };
        ids.push(id);
    }
    put_varint(out, (known.len() - prev.templates.len()) as u64);
    out.extend_from_slice(&added);
    let tid = |row: &Row| ids[row.template as usize];
    // Match rows in order by (template, first number).
    let key = |parsed: &Parsed, row: &Row, id: u32| (id, parsed.row_numbers(*row).first().copied());
    let mut positions: HashMap<(u32, Option<i64>), Vec<usize>> = HashMap::new();
    for (j, row) in prev.rows.iter().enumerate() {
        positions
            .entry(key(prev, row, row.template))
            .or_default()
            .push(j);
    }
    let mut runs: Vec<(u64, u64, u64)> = Vec::new();
    let (mut kept, mut removed, mut added) = (0u64, 0u64, 0u64);
    let _ = prev_json;
    let mut flush = |kept: &mut u64, removed: &mut u64, added: &mut u64| {
        runs.push((*kept, *removed, *added));
        (*kept, *removed, *added) = (0, 0, 0);
    };
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut added_rows: Vec<usize> = Vec::new();
    let mut i = 0;
    for (n, row) in next.rows.iter().enumerate() {
        let k = key(next, row, tid(row));
        let found = if i < prev.rows.len() && key(prev, &prev.rows[i], prev.rows[i].template) == k {
            Some(i)
        } else {
            positions
                .get(&k)
                .and_then(|list| list.iter().copied().find(|j| *j >= i))
        };
        match found {
            Some(j) => {
                removed += (j - i) as u64;
                if removed > 0 || added > 0 {
                    flush(&mut kept, &mut removed, &mut added);
                }
                kept += 1;
                pairs.push((j, n));
                i = j + 1;
            }
            None => {
                added += 1;
                added_rows.push(n);
            }
        }
    }
    removed += (prev.rows.len() - i) as u64;
    if kept > 0 || removed > 0 || added > 0 {
        flush(&mut kept, &mut removed, &mut added);
    }
    put_varint(out, runs.len() as u64);
    for (k, r, a) in &runs {
        put_varint(out, *k);
        put_varint(out, *r);
        put_varint(out, *a);
    }
    for n in added_rows {
        let row = &next.rows[n];
        put_varint(out, u64::from(tid(row)));
        for v in next.row_numbers(*row) {
            put_varint(out, zigzag(*v));
        }
    }
    // Changes of kept rows, column by column.
    let mut columns = 0;
    let mut shifts = [64u32; MAX_COLUMNS];
    let mut changed = 0u64;
    for (j, n) in &pairs {
        let (a, b) = (
            prev.row_numbers(prev.rows[*j]),
            next.row_numbers(next.rows[*n]),
        );
        if a.len() != b.len() || a.len() > MAX_COLUMNS {
            return None;
        }
        let mut any = false;
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            let d = y.wrapping_sub(*x);
            if d != 0 {
                any = true;
                columns = columns.max(c + 1);
                shifts[c] = shifts[c].min(d.trailing_zeros());
            }
        }
        changed += u64::from(any);
    }
    out.push(u8::try_from(columns).ok()?);
    for shift in &shifts[..columns] {
        out.push(u8::try_from(*shift).ok()?);
    }
    put_varint(out, changed);
    let mut last = 0usize;
    for (p, (j, n)) in pairs.iter().enumerate() {
        let (a, b) = (
            prev.row_numbers(prev.rows[*j]),
            next.row_numbers(next.rows[*n]),
        );
        let mut mask = 0u64;
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                mask |= 1 << c;
            }
        }
        if mask == 0 {
            continue;
        }
        put_varint(out, (((p - last) as u64) << columns) | mask);
        last = p;
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                put_varint(out, zigzag(y.wrapping_sub(*x) >> shifts[c]));
            }
        }
    }
    Some(())
}

/// Decodes a body written by [`encode`] against `prev`.
pub(crate) fn decode(
    dctx: &mut DCtx<'static>,
    prev: &Parsed,
    body: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let mut pos = 0;
    let varint = |pos: &mut usize| get_varint(body, pos).ok_or("truncated delta");
    let byte = |pos: &mut usize| {
        let b = *body.get(*pos).ok_or("truncated delta")?;
        *pos += 1;
        Ok::<u8, &'static str>(b)
    };
    let mut changed_surround = Parsed::default();
    let (surround, surround_numbers): (&[u8], Vec<i64>) = match byte(&mut pos)? {
        0 => {
            let mut numbers = Vec::with_capacity(prev.surround_numbers.len());
            for a in &prev.surround_numbers {
                numbers.push(a.wrapping_add(unzigzag(varint(&mut pos)?)));
            }
            (&prev.surround, numbers)
        }
        1 => {
            let text = get_frame(dctx, body, &mut pos, &prev.surround_text)?;
            changed_surround.set_surround_text(&text);
            let numbers = std::mem::take(&mut changed_surround.surround_numbers);
            (&changed_surround.surround, numbers)
        }
        _ => return Err("bad surround"),
    };
    let sep: &[u8] = match byte(&mut pos)? {
        0 => &prev.sep,
        1 => {
            let len = usize::try_from(varint(&mut pos)?).map_err(|_| "bad separator")?;
            let end = pos
                .checked_add(len)
                .filter(|e| *e <= body.len())
                .ok_or("truncated separator")?;
            let sep = &body[pos..end];
            pos = end;
            sep
        }
        _ => return Err("bad separator"),
    };
    let added_templates = varint(&mut pos)?;
    let mut owned: Vec<Vec<u8>> = Vec::new();
    for _ in 0..added_templates.min(1 << 16) {
        let template = get_template(body, &mut pos, &prev.templates, &owned)?;
        owned.push(template);
    }
    let templates: Vec<&[u8]> = prev
        .templates
        .iter()
        .chain(&owned)
        .map(Vec::as_slice)
        .collect();
    let arity = |id: u32| -> Option<usize> {
        match prev.arities.get(id as usize) {
            Some(a) => Some(*a as usize),
            None => templates.get(id as usize).map(|t| arity(t)),
        }
    };
    let run_count = varint(&mut pos)?;
    let mut rows: Vec<Row> = Vec::with_capacity(prev.rows.len() + 8);
    let mut numbers: Vec<i64> = Vec::with_capacity(prev.numbers.len() + 32);
    let mut kept_rows: Vec<usize> = Vec::with_capacity(prev.rows.len());
    let mut runs = Vec::with_capacity(usize::try_from(run_count.min(1024)).unwrap_or(0));
    for _ in 0..run_count.min(1 << 20) {
        runs.push((varint(&mut pos)?, varint(&mut pos)?, varint(&mut pos)?));
    }
    let mut i = 0usize;
    for (kept, removed, added) in runs {
        for _ in 0..kept {
            let row = *prev.rows.get(i).ok_or("kept row past the end")?;
            kept_rows.push(rows.len());
            let start = u32::try_from(numbers.len()).map_err(|_| "too many numbers")?;
            numbers.extend_from_slice(prev.row_numbers(row));
            rows.push(Row { start, ..row });
            i += 1;
        }
        i = usize::try_from(removed)
            .ok()
            .and_then(|r| i.checked_add(r))
            .filter(|i| *i <= prev.rows.len())
            .ok_or("removed rows past the end")?;
        for _ in 0..added {
            let template = u32::try_from(varint(&mut pos)?).map_err(|_| "bad template id")?;
            let arity = arity(template).ok_or("unknown template id")?;
            let start = u32::try_from(numbers.len()).map_err(|_| "too many numbers")?;
            for _ in 0..arity {
                numbers.push(unzigzag(varint(&mut pos)?));
            }
            rows.push(Row {
                template,
                start,
                len: u32::try_from(arity).map_err(|_| "bad template")?,
            });
        }
    }
    if i != prev.rows.len() {
        return Err("rows unaccounted for");
    }
    let columns = usize::from(byte(&mut pos)?);
    if columns > MAX_COLUMNS {
        return Err("too many columns");
    }
    let mut shifts = [0u32; MAX_COLUMNS];
    for shift in shifts.iter_mut().take(columns) {
        *shift = u32::from(byte(&mut pos)?).min(63);
    }
    let changed = varint(&mut pos)?;
    let mut p = 0usize;
    for _ in 0..changed {
        let word = varint(&mut pos)?;
        let mask = word & ((1u64 << columns) - 1);
        p = usize::try_from(word >> columns)
            .ok()
            .and_then(|gap| p.checked_add(gap))
            .ok_or("bad gap")?;
        let row = rows[*kept_rows.get(p).ok_or("changed row past the end")?];
        for (c, shift) in shifts.iter().enumerate().take(columns) {
            if mask & (1 << c) != 0 {
                if c >= row.len as usize {
                    return Err("change of a missing number");
                }
                let d = unzigzag(varint(&mut pos)?) << shift;
                let v = &mut numbers[row.start as usize + c];
                *v = v.wrapping_add(d);
            }
        }
    }
    if pos != body.len() {
        return Err("trailing bytes after the delta");
    }
    Text {
        surround,
        surround_numbers: &surround_numbers,
        sep,
        templates: &templates,
        rows: &rows,
        numbers: &numbers,
    }
    .render()
    .ok_or("rows do not fit their templates")
}

/// Appends `template` as the known template it shares most bytes with (at its start and
/// end) and the bytes between: a new program's row differs from another's by its name.
fn put_template(template: &[u8], known: &[&[u8]], out: &mut Vec<u8>) {
    let mut best = (0usize, 0usize, 0usize);
    for (id, other) in known.iter().enumerate() {
        let limit = template.len().min(other.len());
        let prefix = common(template.iter(), other.iter()).min(limit);
        let suffix = common(template.iter().rev(), other.iter().rev()).min(limit - prefix);
        if prefix + suffix > best.1 + best.2 {
            best = (id + 1, prefix, suffix);
        }
    }
    let (base, prefix, suffix) = best;
    put_varint(out, base as u64);
    if base > 0 {
        put_varint(out, prefix as u64);
        put_varint(out, suffix as u64);
    }
    let middle = &template[prefix..template.len() - suffix];
    put_varint(out, middle.len() as u64);
    out.extend_from_slice(middle);
}

fn common<'a>(a: impl Iterator<Item = &'a u8>, b: impl Iterator<Item = &'a u8>) -> usize {
    a.zip(b).take_while(|(x, y)| x == y).count()
}

/// Reads a template written by [`put_template`]; `prev` then `added` are the known ones.
fn get_template(
    body: &[u8],
    pos: &mut usize,
    prev: &[Vec<u8>],
    added: &[Vec<u8>],
) -> Result<Vec<u8>, &'static str> {
    let mut next = || get_varint(body, pos).and_then(|v| usize::try_from(v).ok());
    let base = next().ok_or("truncated template")?;
    let (base, prefix, suffix): (&[u8], usize, usize) = if base == 0 {
        (&[], 0, 0)
    } else {
        let base = prev
            .iter()
            .chain(added)
            .nth(base - 1)
            .ok_or("unknown base template")?;
        let prefix = next().ok_or("truncated template")?;
        let suffix = next().ok_or("truncated template")?;
        if prefix.checked_add(suffix).is_none_or(|n| n > base.len()) {
            return Err("bad template cut");
        }
        (base, prefix, suffix)
    };
    let len = next().ok_or("truncated template")?;
    let end = pos
        .checked_add(len)
        .filter(|e| *e <= body.len())
        .ok_or("truncated template")?;
    let mut template = Vec::with_capacity(prefix + len + suffix);
    template.extend_from_slice(&base[..prefix]);
    template.extend_from_slice(&body[*pos..end]);
    template.extend_from_slice(&base[base.len() - suffix..]);
    *pos = end;
    Ok(template)
}

fn put_frame(cctx: &mut CCtx<'static>, text: &[u8], dict: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut frame = Vec::with_capacity(zstd_safe::compress_bound(text.len()));
    cctx.compress_using_dict(&mut frame, text, dict, LEVEL)
        .ok()?;
    put_varint(out, frame.len() as u64);
    out.extend_from_slice(&frame);
    Some(())
}

fn get_frame(
    dctx: &mut DCtx<'static>,
    body: &[u8],
    pos: &mut usize,
    dict: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let len = get_varint(body, pos).ok_or("truncated frame")?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|e| *e <= body.len())
        .ok_or("truncated frame")?;
    let frame = &body[*pos..end];
    *pos = end;
    let size = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => usize::try_from(n).map_err(|_| "frame too large")?,
        _ => return Err("zstd frame without content size"),
    };
    if size > 1 << 26 {
        return Err("frame too large");
    }
    let mut out = Vec::with_capacity(size);
    dctx.decompress_using_dict(&mut out, frame, dict)
        .map_err(|_| "zstd frame does not decompress")?;
    Ok(out)
}
