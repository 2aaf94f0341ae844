//! The body of a structural delta: what changed from the host's previous snapshot.
//!
//! ```text
//! surround   see `surround`
//! separator  0 (as before) | 1, length, bytes
//! runs       count, then (kept, removed, added) row counts, in row order
//! added      per added row: its template as (the row it is cut from: a previous row's index,
//!            or the previous snapshot's row count + an added row's index), the bytes kept
//!            from that template's start and end and the bytes between; then its numbers
//!            (zigzag)
//! changes    columns C, C shifts, count, then per kept row whose text changed:
//!            (gap << C | mask) and, per column in the mask, (difference >> shift) zigzag
//! ```
//!
//! Rows are matched in order: a row whose text is the previous one's is kept as it is (and
//! never looked into); otherwise rows are matched by template and first number (the pid) a
//! few rows ahead, so a table that gains and loses rows is runs of kept rows. A number's
//! difference is shifted right by the trailing zero bits its column's differences share
//! (memory sizes moving in 4 KiB pages cost a byte less each).

use zstd_safe::{CCtx, DCtx};

use super::split::{RowIndex, Split};
use super::surround::Surround;
use super::template::{arity, render};
use super::tokens::{LazyRows, Tokens};
use crate::varint::{get_varint, put_varint, unzigzag, zigzag};

/// Most number columns a changed row may have (the mask is a varint).
const MAX_COLUMNS: usize = 24;
/// How many previous rows ahead a row is looked for before it counts as added.
const LOOK_AHEAD: usize = 32;

/// What became of one row of the next snapshot.
enum Fate {
    /// The previous row at this index, its text unchanged.
    Same(usize),
    /// The previous row at this index, some numbers changed.
    Changed(usize, Tokens),
    /// A row the previous snapshot did not have.
    Added(Tokens),
}

/// Encodes `next` against `prev`; `None` when it cannot (the record is then stored whole).
pub(crate) fn encode(
    cctx: &mut CCtx<'static>,
    prev: &Split<'_>,
    next: &Split<'_>,
    out: &mut Vec<u8>,
) -> Option<()> {
    Surround::new(next.head, next.tail).encode(cctx, &Surround::new(prev.head, prev.tail), out)?;
    if next.sep == prev.sep || next.rows.len() < 2 {
        out.push(0);
    } else {
        out.push(1);
        put_varint(out, next.sep.len() as u64);
        out.extend_from_slice(next.sep);
    }
    let mut old = LazyRows::new(&prev.rows);
    let fates = align(&mut old, &next.rows);
    // Runs of (kept, removed, added).
    let mut runs: Vec<(u64, u64, u64)> = Vec::new();
    let (mut kept, mut removed, mut added) = (0u64, 0u64, 0u64);
    let mut i = 0usize;
    for fate in &fates {
        match fate {
            Fate::Same(j) | Fate::Changed(j, _) => {
                removed += (j - i) as u64;
                if removed > 0 || added > 0 {
                    runs.push((kept, removed, added));
                    (kept, removed, added) = (0, 0, 0);
                }
                kept += 1;
                i = j + 1;
            }
            Fate::Added(_) => added += 1,
        }
    }
    removed += (prev.rows.len() - i) as u64;
    if kept > 0 || removed > 0 || added > 0 {
        runs.push((kept, removed, added));
    }
    put_varint(out, runs.len() as u64);
    for (k, r, a) in &runs {
        put_varint(out, *k);
        put_varint(out, *r);
        put_varint(out, *a);
    }
    // Added rows: their templates cut from a known one, then their numbers.
    let mut added_templates: Vec<&[u8]> = Vec::new();
    let base = prev.rows.len();
    if fates.iter().any(|f| matches!(f, Fate::Added(_))) && base > 0 {
        // At least one known template to cut from.
        old.get(base - 1);
    }
    for fate in &fates {
        let Fate::Added(tokens) = fate else { continue };
        let mut best = (0usize, 0usize, 0usize, false);
        let mut consider = |id: usize, other: &[u8]| {
            let limit = tokens.template.len().min(other.len());
            let prefix = common(tokens.template.iter(), other.iter()).min(limit);
            let suffix =
                common(tokens.template.iter().rev(), other.iter().rev()).min(limit - prefix);
            if !best.3 || prefix + suffix > best.1 + best.2 {
                best = (id, prefix, suffix, true);
            }
        };
        for (id, known) in old.known() {
            consider(id, &known.template);
        }
        for (a, template) in added_templates.iter().enumerate() {
            consider(base + a, template);
        }
        let (id, prefix, suffix, found) = best;
        if found {
            put_varint(out, id as u64 + 1);
            put_varint(out, prefix as u64);
            put_varint(out, suffix as u64);
        } else {
            put_varint(out, 0);
        }
        let middle = &tokens.template[prefix..tokens.template.len() - suffix];
        put_varint(out, middle.len() as u64);
        out.extend_from_slice(middle);
        for v in &tokens.numbers {
            put_varint(out, zigzag(*v));
        }
        added_templates.push(&tokens.template);
    }
    // Changes of kept rows, column by column.
    let mut columns = 0;
    let mut shifts = [64u32; MAX_COLUMNS];
    let mut changed = 0u64;
    for fate in &fates {
        let Fate::Changed(j, new) = fate else {
            continue;
        };
        let was = old.get(*j);
        if was.numbers.len() != new.numbers.len() || new.numbers.len() > MAX_COLUMNS {
            return None;
        }
        changed += 1;
        for (c, (x, y)) in was.numbers.iter().zip(&new.numbers).enumerate() {
            let d = y.wrapping_sub(*x);
            if d != 0 {
                columns = columns.max(c + 1);
                shifts[c] = shifts[c].min(d.trailing_zeros());
            }
        }
    }
    out.push(u8::try_from(columns).ok()?);
    for shift in &shifts[..columns] {
        out.push(u8::try_from(*shift).ok()?);
    }
    put_varint(out, changed);
    let (mut p, mut last) = (0usize, 0usize);
    for fate in &fates {
        let new = match fate {
            Fate::Same(_) => {
                p += 1;
                continue;
            }
            Fate::Changed(j, new) => (*j, new),
            Fate::Added(_) => continue,
        };
        let (j, new) = new;
        let was = old.get(j);
        let mut mask = 0u64;
        for (c, (x, y)) in was.numbers.iter().zip(&new.numbers).enumerate() {
            if x != y {
                mask |= 1 << c;
            }
        }
        put_varint(out, (((p - last) as u64) << columns) | mask);
        last = p;
        p += 1;
        for (c, (x, y)) in was.numbers.iter().zip(&new.numbers).enumerate() {
            if x != y {
                put_varint(out, zigzag(y.wrapping_sub(*x) >> shifts[c]));
            }
        }
    }
    Some(())
}

/// Matches each row of `next` to a row of `old`, in order.
fn align(old: &mut LazyRows<'_>, next: &[&[u8]]) -> Vec<Fate> {
    let count = old.len();
    let mut fates = Vec::with_capacity(next.len());
    let mut i = 0usize;
    for row in next {
        if i < count && old.text(i) == *row {
            fates.push(Fate::Same(i));
            i += 1;
            continue;
        }
        let tokens = Tokens::of(row);
        let mut found = None;
        for j in i..count.min(i + LOOK_AHEAD) {
            if old.text(j) == *row {
                found = Some((j, true));
                break;
            }
            if old.get(j).same_row(&tokens) {
                found = Some((j, false));
                break;
            }
        }
        match found {
            Some((j, true)) => fates.push(Fate::Same(j)),
            Some((j, false)) => fates.push(Fate::Changed(j, tokens)),
            None => {
                fates.push(Fate::Added(tokens));
                continue;
            }
        }
        i = fates.last().map_or(i, |f| match f {
            Fate::Same(j) | Fate::Changed(j, _) => j + 1,
            Fate::Added(_) => i,
        });
    }
    fates
}

fn common<'a>(a: impl Iterator<Item = &'a u8>, b: impl Iterator<Item = &'a u8>) -> usize {
    a.zip(b).take_while(|(x, y)| x == y).count()
}

/// Decodes a body written by [`encode`] against `prev`: the text and where its parts are.
pub(crate) fn decode(
    dctx: &mut DCtx<'static>,
    prev: &Split<'_>,
    body: &[u8],
) -> Result<(Vec<u8>, RowIndex), &'static str> {
    let mut pos = 0;
    let varint = |pos: &mut usize| get_varint(body, pos).ok_or("truncated delta");
    let usize_of = |v: u64| usize::try_from(v).map_err(|_| "bad delta");
    let (surround, at) =
        Surround::decode(dctx, &Surround::new(prev.head, prev.tail), body, &mut pos)?;
    let sep: &[u8] = match body.get(pos) {
        Some(0) => {
            pos += 1;
            prev.sep
        }
        Some(1) => {
            pos += 1;
            let len = usize_of(varint(&mut pos)?)?;
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
    let run_count = varint(&mut pos)?;
    let mut runs = Vec::with_capacity(usize_of(run_count.min(1024))?);
    for _ in 0..run_count.min(1 << 20) {
        runs.push((varint(&mut pos)?, varint(&mut pos)?, varint(&mut pos)?));
    }
    let mut old = LazyRows::new(&prev.rows);
    let base = prev.rows.len();
    // Row plan: Ok(previous index) for kept rows, Err(added index) for added ones.
    let mut plan: Vec<Result<usize, usize>> = Vec::with_capacity(base + 8);
    let (mut i, mut added_count) = (0usize, 0usize);
    for (kept, removed, added) in runs {
        let kept = usize_of(kept)?;
        if i.checked_add(kept).is_none_or(|end| end > base) {
            return Err("kept rows past the end");
        }
        plan.extend((i..i + kept).map(Ok));
        i += kept;
        i = i
            .checked_add(usize_of(removed)?)
            .filter(|i| *i <= base)
            .ok_or("removed rows past the end")?;
        let added = usize_of(added)?;
        if added > body.len() {
            return Err("more added rows than bytes");
        }
        plan.extend((added_count..added_count + added).map(Err));
        added_count += added;
    }
    if i != base {
        return Err("rows unaccounted for");
    }
    let mut added_rows: Vec<Tokens> = Vec::with_capacity(added_count);
    for _ in 0..added_count {
        let from = usize_of(varint(&mut pos)?)?;
        let (prefix, suffix) = if from > 0 {
            (usize_of(varint(&mut pos)?)?, usize_of(varint(&mut pos)?)?)
        } else {
            (0, 0)
        };
        let cut: &[u8] = match from.checked_sub(1) {
            None => &[],
            Some(id) if id < base => &old.get(id).template,
            Some(id) => {
                &added_rows
                    .get(id - base)
                    .ok_or("unknown template")?
                    .template
            }
        };
        if prefix.checked_add(suffix).is_none_or(|n| n > cut.len()) {
            return Err("bad template cut");
        }
        let len = usize_of(varint(&mut pos)?)?;
        let end = pos
            .checked_add(len)
            .filter(|e| *e <= body.len())
            .ok_or("truncated template")?;
        let mut template = Vec::with_capacity(prefix + len + suffix);
        template.extend_from_slice(&cut[..prefix]);
        template.extend_from_slice(&body[pos..end]);
        template.extend_from_slice(&cut[cut.len() - suffix..]);
        pos = end;
        let mut numbers = Vec::with_capacity(4);
        for _ in 0..arity(&template) {
            numbers.push(unzigzag(varint(&mut pos)?));
        }
        added_rows.push(Tokens { template, numbers });
    }
    let columns = usize::from(*body.get(pos).ok_or("truncated delta")?);
    pos += 1;
    if columns > MAX_COLUMNS {
        return Err("too many columns");
    }
    let mut shifts = [0u32; MAX_COLUMNS];
    for shift in shifts.iter_mut().take(columns) {
        *shift = u32::from(*body.get(pos).ok_or("truncated delta")?).min(63);
        pos += 1;
    }
    // Changed kept rows: kept-row ordinal → new numbers.
    let changed = varint(&mut pos)?;
    let kept_rows: Vec<usize> = plan.iter().filter_map(|p| p.ok()).collect();
    let mut changes: Vec<(usize, Vec<i64>)> = Vec::new();
    let mut p = 0usize;
    for n in 0..changed {
        let word = varint(&mut pos)?;
        let mask = word & ((1u64 << columns) - 1);
        let gap = usize_of(word >> columns)?;
        if n > 0 && gap == 0 {
            return Err("a row changed twice");
        }
        p = p.checked_add(gap).ok_or("bad gap")?;
        let j = *kept_rows.get(p).ok_or("changed row past the end")?;
        let mut numbers = old.get(j).numbers.clone();
        for (c, shift) in shifts.iter().enumerate().take(columns) {
            if mask & (1 << c) != 0 {
                let v = numbers.get_mut(c).ok_or("change of a missing number")?;
                *v = v.wrapping_add(unzigzag(varint(&mut pos)?) << shift);
            }
        }
        changes.push((p, numbers));
    }
    if pos != body.len() {
        return Err("trailing bytes after the delta");
    }
    // The text: head, rows, tail.
    let mut out = Vec::with_capacity(
        surround.len() + prev.rows.iter().map(|r| r.len() + sep.len()).sum::<usize>() + 256,
    );
    out.extend_from_slice(&surround[..at]);
    let head_end = out.len();
    let mut rows = Vec::with_capacity(plan.len());
    let mut sep_at = (0, 0);
    let offset = |n: usize| u32::try_from(n).map_err(|_| "snapshot too large");
    let mut changes = changes.into_iter().peekable();
    let mut ordinal = 0usize;
    for (n, step) in plan.iter().enumerate() {
        if n > 0 {
            if n == 1 {
                sep_at = (out.len(), out.len() + sep.len());
            }
            out.extend_from_slice(sep);
        }
        let start = offset(out.len())?;
        match step {
            Ok(j) => {
                if changes.peek().is_some_and(|(p, _)| *p == ordinal) {
                    let (_, numbers) = changes.next().ok_or("bad change")?;
                    render(&old.get(*j).template, &numbers, &mut out).ok_or("bad row")?;
                } else {
                    out.extend_from_slice(prev.rows[*j]);
                }
                ordinal += 1;
            }
            Err(a) => {
                let row = &added_rows[*a];
                render(&row.template, &row.numbers, &mut out).ok_or("bad row")?;
            }
        }
        rows.push((start, offset(out.len())?));
    }
    let tail_start = out.len();
    out.extend_from_slice(&surround[at + 1..]);
    if plan.len() < 2 || sep.is_empty() {
        sep_at = (0, 0);
    }
    let index = RowIndex::build(out.len(), head_end, rows, sep_at, tail_start);
    Ok((out, index))
}
