//! The text around the process table (host, times, idle, CPU, foreground, watched apps): one
//! template with numbers. Unchanged in shape from one snapshot to the next, it costs only its
//! numbers' differences; otherwise a zstd frame with the previous surround as dictionary.

use zstd_safe::{CCtx, DCtx};

use super::template::{render, tokenize};
use crate::varint::{get_varint, put_varint, unzigzag, zigzag};

/// Marks where the rows go in the surround.
const ROWS: u8 = 1;
/// zstd level of a changed surround (a few hundred bytes).
const LEVEL: i32 = 3;

/// A snapshot's text around its rows.
pub(crate) struct Surround {
    /// Head, [`ROWS`], tail.
    text: Vec<u8>,
    template: Vec<u8>,
    numbers: Vec<i64>,
}

impl Surround {
    pub(crate) fn new(head: &[u8], tail: &[u8]) -> Self {
        let mut text = Vec::with_capacity(head.len() + 1 + tail.len());
        text.extend_from_slice(head);
        text.push(ROWS);
        text.extend_from_slice(tail);
        Self::of_text(text)
    }

    fn of_text(text: Vec<u8>) -> Self {
        let (mut template, mut numbers) = (Vec::with_capacity(text.len()), Vec::new());
        tokenize(&text, &mut template, &mut numbers);
        Self {
            text,
            template,
            numbers,
        }
    }

    /// Appends `self` as a change of `prev`.
    pub(crate) fn encode(
        &self,
        cctx: &mut CCtx<'static>,
        prev: &Self,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        if self.template == prev.template {
            out.push(0);
            for (a, b) in prev.numbers.iter().zip(&self.numbers) {
                put_varint(out, zigzag(b.wrapping_sub(*a)));
            }
            return Some(());
        }
        out.push(1);
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(self.text.len()));
        cctx.compress_using_dict(&mut frame, &self.text, &prev.text, LEVEL)
            .ok()?;
        put_varint(out, frame.len() as u64);
        out.extend_from_slice(&frame);
        Some(())
    }

    /// Reads a surround written by [`Surround::encode`] against `prev`; returns the head and
    /// tail text.
    pub(crate) fn decode(
        dctx: &mut DCtx<'static>,
        prev: &Self,
        body: &[u8],
        pos: &mut usize,
    ) -> Result<(Vec<u8>, usize), &'static str> {
        let kind = *body.get(*pos).ok_or("truncated delta")?;
        *pos += 1;
        let text = match kind {
            0 => {
                let mut numbers = Vec::with_capacity(prev.numbers.len());
                for a in &prev.numbers {
                    let d = get_varint(body, pos).ok_or("truncated surround")?;
                    numbers.push(a.wrapping_add(unzigzag(d)));
                }
                let mut text = Vec::with_capacity(prev.text.len() + 8);
                render(&prev.template, &numbers, &mut text).ok_or("bad surround")?;
                text
            }
            1 => {
                let len = get_varint(body, pos).ok_or("truncated surround")?;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| pos.checked_add(l))
                    .filter(|e| *e <= body.len())
                    .ok_or("truncated surround")?;
                let frame = &body[*pos..end];
                *pos = end;
                let size = match zstd_safe::get_frame_content_size(frame) {
                    Ok(Some(n)) if n <= 1 << 26 => {
                        usize::try_from(n).map_err(|_| "bad surround")?
                    }
                    _ => return Err("bad surround frame"),
                };
                let mut text = Vec::with_capacity(size);
                dctx.decompress_using_dict(&mut text, frame, &prev.text)
                    .map_err(|_| "surround frame does not decompress")?;
                text
            }
            _ => return Err("bad surround"),
        };
        let at = memchr::memchr(ROWS, &text).ok_or("surround without its rows")?;
        Ok((text, at))
    }
}
