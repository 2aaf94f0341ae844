//! Text cells that always fit: spreadsheet programs refuse a cell longer than their limit
//! (Excel 32,767 UTF-16 units, Google Sheets 50,000 characters), and an agent may send a
//! `foreground_process` or an app name of any length. A report must never fail on data, so
//! long text is cut, visibly, with a trailing `…`.

use std::borrow::Cow;

/// Longest text Excel accepts in a cell, in UTF-16 code units.
pub const EXCEL_MAX: usize = 32_767;

/// Longest text written to a Google Sheets cell: well under Google's 50,000-character limit,
/// so that a tab of a few hundred hosts stays one small request.
pub const SHEETS_MAX: usize = 1_000;

/// `text` as it fits in `max` UTF-16 code units: unchanged when it does, else cut at a
/// character boundary and ended with `…`.
#[must_use]
pub fn fit(text: &str, max: usize) -> Cow<'_, str> {
    // A UTF-16 unit never takes fewer bytes than in UTF-8: most text passes on its length.
    if text.len() <= max || text.encode_utf16().count() <= max {
        return Cow::Borrowed(text);
    }
    let budget = max.saturating_sub(1); // `…` is one UTF-16 unit
    let (mut units, mut end) = (0, 0);
    for (i, c) in text.char_indices() {
        if units + c.len_utf16() > budget {
            break;
        }
        units += c.len_utf16();
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_len(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn short_text_is_unchanged() {
        assert!(matches!(
            fit("ansysedt.exe", 12),
            Cow::Borrowed("ansysedt.exe")
        ));
        assert_eq!(fit("ansysedt.exe", 10), "ansysedt.…");
        let exactly = "é".repeat(10);
        assert_eq!(fit(&exactly, 10), exactly);
    }

    #[test]
    fn long_text_is_cut_to_the_limit_with_an_ellipsis() {
        let long = "x".repeat(40_000);
        let cut = fit(&long, EXCEL_MAX);
        assert_eq!(utf16_len(&cut), EXCEL_MAX);
        assert!(cut.ends_with('…'));
        // Characters outside the BMP take two UTF-16 units and are never split.
        let emoji = "😀".repeat(20);
        let cut = fit(&emoji, 11);
        assert_eq!(cut, format!("{}…", "😀".repeat(5)));
        assert!(utf16_len(&cut) <= 11);
    }
}
