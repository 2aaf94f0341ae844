//! Finding a snapshot's process table in its JSON text: the text before the first row, each
//! row's text, the separator between rows and the text after the last row. The four partition
//! the text, so joining them gives it back byte for byte whatever its spacing.

/// A snapshot's JSON cut around the rows of its `processes` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    /// Everything up to the first row (or just after `[` for an empty array; the whole text
    /// when there is no `processes` array).
    pub(crate) head: &'a [u8],
    /// Each row's text.
    pub(crate) rows: Vec<&'a [u8]>,
    /// What stands between two rows (`,` from every agent); empty with fewer than two rows.
    pub(crate) sep: &'a [u8],
    /// Everything after the last row.
    pub(crate) tail: &'a [u8],
}

impl Split<'_> {
    /// The text the parts came from.
    #[cfg(test)]
    pub(crate) fn join(&self) -> Vec<u8> {
        let mut out = self.head.to_vec();
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(self.sep);
            }
            out.extend_from_slice(row);
        }
        out.extend_from_slice(self.tail);
        out
    }
}

/// Where the parts of a [`Split`] lie in its text: kept with a host's last snapshot (and by a
/// reader with the snapshot it just decoded) so that the next delta against it does not cut
/// the text again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowIndex {
    len: usize,
    head_end: usize,
    rows: Vec<(u32, u32)>,
    sep: (usize, usize),
    tail_start: usize,
}

impl RowIndex {
    /// The index of `split`, cut from `text`.
    pub(crate) fn of(split: &Split<'_>, text: &[u8]) -> Self {
        let at = |part: &[u8]| (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        let offset = |part: &[u8]| u32::try_from(at(part)).unwrap_or(u32::MAX);
        Self {
            len: text.len(),
            head_end: split.head.len(),
            rows: split
                .rows
                .iter()
                .map(|r| {
                    (
                        offset(r),
                        offset(r).saturating_add(u32::try_from(r.len()).unwrap_or(u32::MAX)),
                    )
                })
                .collect(),
            sep: if split.sep.is_empty() {
                (0, 0)
            } else {
                (at(split.sep), at(split.sep) + split.sep.len())
            },
            tail_start: text.len() - split.tail.len(),
        }
    }

    /// An index built part by part (a decoder writing the text).
    pub(crate) fn build(
        len: usize,
        head_end: usize,
        rows: Vec<(u32, u32)>,
        sep: (usize, usize),
        tail_start: usize,
    ) -> Self {
        Self {
            len,
            head_end,
            rows,
            sep,
            tail_start,
        }
    }

    /// The split of `text` this index describes; `None` when `text` is not the one indexed.
    pub(crate) fn view<'a>(&self, text: &'a [u8]) -> Option<Split<'a>> {
        if text.len() != self.len || self.head_end > self.len || self.tail_start > self.len {
            return None;
        }
        let mut rows = Vec::with_capacity(self.rows.len());
        for (start, end) in &self.rows {
            rows.push(text.get(*start as usize..*end as usize)?);
        }
        Some(Split {
            head: &text[..self.head_end],
            rows,
            sep: if self.sep.0 <= self.sep.1 {
                text.get(self.sep.0..self.sep.1)?
            } else {
                return None;
            },
            tail: &text[self.tail_start..],
        })
    }
}

/// Cuts `json` around the rows of its top-level `processes` array; `None` when the text is not
/// one object or the separators between rows differ (such a record is stored whole).
pub(crate) fn split(json: &[u8]) -> Option<Split<'_>> {
    let open = find_processes(json)?;
    let Some(open) = open else {
        return Some(Split {
            head: json,
            rows: Vec::new(),
            sep: &[],
            tail: &[],
        });
    };
    let mut rows = Vec::new();
    let mut sep: Option<&[u8]> = None;
    let mut i = skip_ws(json, open + 1);
    if json.get(i) == Some(&b']') {
        return Some(Split {
            head: &json[..=open],
            rows,
            sep: &[],
            tail: &json[open + 1..],
        });
    }
    let first = i;
    let mut last_end = i;
    loop {
        let start = i;
        let end = value_end(json, start)?;
        if !rows.is_empty() {
            let this_sep = &json[last_end..start];
            match sep {
                Some(s) if s != this_sep => return None,
                Some(_) => {}
                None => sep = Some(this_sep),
            }
        }
        rows.push(&json[start..end]);
        last_end = end;
        i = skip_ws(json, end);
        match json.get(i) {
            Some(b',') => i = skip_ws(json, i + 1),
            Some(b']') => break,
            _ => return None,
        }
    }
    Some(Split {
        head: &json[..first],
        rows,
        sep: sep.unwrap_or(&[]),
        tail: &json[last_end..],
    })
}

/// Where the `[` of the top-level `"processes"` array is: `Some(None)` when the object has no
/// such array, `None` when the text is not an object.
fn find_processes(json: &[u8]) -> Option<Option<usize>> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(json, i + 1);
    if json.get(i) == Some(&b'}') {
        return Some(None);
    }
    loop {
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(json, i + 1)?;
        let key = &json[i + 1..key_end];
        i = skip_ws(json, key_end + 1);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        if key == b"processes" && json.get(i) == Some(&b'[') {
            return Some(Some(i));
        }
        i = skip_ws(json, value_end(json, i)?);
        match json.get(i) {
            Some(b',') => i = skip_ws(json, i + 1),
            Some(b'}') => return Some(None),
            _ => return None,
        }
    }
}

/// The end (exclusive) of the JSON value starting at `start`: a string, an object or array
/// (its own brackets balanced, strings skipped: enough for valid JSON, and a mistake on invalid
/// text only makes the delta fail its check) or a scalar (up to the next delimiter).
pub(crate) fn value_end(json: &[u8], start: usize) -> Option<usize> {
    let (open, close) = match json.get(start)? {
        b'"' => return string_end(json, start + 1).map(|e| e + 1),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => {
            let len = json[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(json.len() - start);
            return (len > 0).then_some(start + len);
        }
    };
    // One pass over the bytes: rows are short, and their strings shorter, so a plain loop
    // beats searching for the next delimiter.
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = start;
    while i < json.len() {
        let b = json[i];
        if in_string {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == open {
            depth += 1;
        } else if b == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// The index of the quote closing the string whose content starts at `from`.
pub(crate) fn string_end(json: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
        if json[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while matches!(json.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_cut_out_and_joined_back() {
        let json =
            br#"{"host":"a","w":{"x":[1,2]},"processes":[{"pid":1,"name":"a,]"},{"pid":2}],"z":1}"#;
        let s = split(json).unwrap();
        assert_eq!(s.head, br#"{"host":"a","w":{"x":[1,2]},"processes":["#);
        assert_eq!(
            s.rows,
            vec![&br#"{"pid":1,"name":"a,]"}"#[..], br#"{"pid":2}"#]
        );
        assert_eq!(s.sep, b",");
        assert_eq!(s.tail, br#"],"z":1}"#);
        assert_eq!(s.join(), json);
    }

    #[test]
    fn spacing_is_kept_and_odd_shapes_are_whole() {
        for json in [
            &br#" { "processes" : [ {"pid": 1} , {"pid": 2} ] } "#[..],
            br#"{"processes":[]}"#,
            br#"{"processes":[ ]}"#,
            br#"{"host":"x"}"#,
            br#"{}"#,
            br#"{"processes":{"a":1}}"#,
            br#"{"processes":[1]}"#,
        ] {
            let s = split(json).unwrap();
            assert_eq!(s.join(), json, "{}", String::from_utf8_lossy(json));
        }
        assert!(
            split(br#"{"processes":[1, 2,3]}"#).is_none(),
            "mixed separators"
        );
        assert!(split(b"[1,2]").is_none());
        assert!(split(br#"{"processes":[1,2"#).is_none());
    }
}
